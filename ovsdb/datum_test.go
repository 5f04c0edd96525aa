package ovsdb

import (
	"math/rand/v2"
	"testing"
)

func mustType(t *testing.T, js string) *Type {
	t.Helper()
	v, err := ParseJSON([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	ty, e := typeFromJSON(v)
	if e != nil {
		t.Fatal(e)
	}
	return &ty
}

func TestDatumParsePrint(t *testing.T) {
	for _, tt := range []struct{ typ, in, out, str string }{
		{`"integer"`, `5`, `5`, `5`},
		{`"integer"`, `["set",[5]]`, `5`, `5`},
		{`{"key":"integer","min":0,"max":"unlimited"}`, `["set",[3,1,2]]`, `["set",[1,2,3]]`, `[1, 2, 3]`},
		{`{"key":"integer","min":0,"max":"unlimited"}`, `["set",[]]`, `["set",[]]`, `[]`},
		{`{"key":"string","min":0,"max":1}`, `"a b"`, `"a b"`, `"a b"`},
		{`{"key":"string","value":"string","min":0,"max":"unlimited"}`, `["map",[["b","2"],["a","x"]]]`, `["map",[["a","x"],["b","2"]]]`, `{a=x, b="2"}`},
		{`"real"`, `1`, `1.0`, `1.0`},
		{`"real"`, `2.5`, `2.5`, `2.5`},
		{`"boolean"`, `true`, `true`, `true`},
		{`{"key":"uuid","min":0,"max":"unlimited"}`, `["set",[["uuid","b0000000-0000-0000-0000-000000000000"],["uuid","a0000000-0000-0000-0000-000000000000"]]]`,
			`["set",[["uuid","a0000000-0000-0000-0000-000000000000"],["uuid","b0000000-0000-0000-0000-000000000000"]]]`,
			`[a0000000-0000-0000-0000-000000000000, b0000000-0000-0000-0000-000000000000]`},
		{`"string"`, `"tab\there \"q\" é"`, `"tab\there \"q\" é"`, `"tab\there \"q\" é"`},
	} {
		ty := mustType(t, tt.typ)
		v, _ := ParseJSON([]byte(tt.in))
		d, err := DatumFromJSON(ty, v, nil)
		if err != nil {
			t.Errorf("%s %s: %v", tt.typ, tt.in, err)
			continue
		}
		if got := string(d.AppendJSON(nil, ty)); got != tt.out {
			t.Errorf("%s %s: JSON %s, want %s", tt.typ, tt.in, got, tt.out)
		}
		if got := d.String(ty); got != tt.str {
			t.Errorf("%s %s: String %s, want %s", tt.typ, tt.in, got, tt.str)
		}
	}
}

func TestDatumErrors(t *testing.T) {
	for _, tt := range []struct{ typ, in, want string }{
		{`"integer"`, `"x"`, "syntax error: expected integer"},
		{`"integer"`, `1.5`, "syntax error: expected integer"},
		{`"integer"`, `["set",[]]`, "syntax error: set must have 1 to 1 members but 0 are present"},
		{`{"key":"integer","min":0,"max":2}`, `["set",[1,2,3]]`, "syntax error: set must have 0 to 2 members but 3 are present"},
		{`{"key":"integer","min":0,"max":"unlimited"}`, `["set",[1,1]]`, "ovsdb error: set contains duplicate"},
		{`{"key":"string","value":"string","min":0,"max":"unlimited"}`, `["map",[["a","1"],["a","2"]]]`, "ovsdb error: map contains duplicate key"},
		{`{"key":"string","value":"string","min":0,"max":"unlimited"}`, `["set",[]]`, "syntax error: expected [\"map\", [...]]"},
		{`{"key":{"type":"string","maxLength":2}}`, `"abc"`, `constraint violation: "abc" length 3 is greater than maximum allowed length 2`},
		{`{"key":{"type":"integer","minInteger":3}}`, `1`, "constraint violation: 1 is less than minimum allowed value 3"},
		{`{"key":{"type":"real","maxReal":3}}`, `4`, "constraint violation: 4 is greater than maximum allowed value 3"},
		{`"uuid"`, `["uuid","nope"]`, `syntax error: "nope" is not a valid UUID`},
		{`"uuid"`, `["named-uuid","x"]`, "syntax error: named-uuid is not allowed here"},
	} {
		ty := mustType(t, tt.typ)
		v, _ := ParseJSON([]byte(tt.in))
		_, err := DatumFromJSON(ty, v, nil)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s %s: error %v, want %s", tt.typ, tt.in, err, tt.want)
		}
	}
}

func randDatum(r *rand.Rand, ty *Type) Datum {
	n := r.IntN(6)
	var d Datum
	for i := 0; i < n; i++ {
		d.Keys = append(d.Keys, IntAtom(int64(r.IntN(8))))
		if ty.IsMap() {
			d.Values = append(d.Values, StringAtom(string(rune('a'+r.IntN(3)))))
		}
	}
	if ty.IsMap() && d.Values == nil {
		d.Values = []Atom{}
	}
	// Deduplicate keys by sorting and dropping repeats.
	seen := map[Atom]bool{}
	var out Datum
	if ty.IsMap() {
		out.Values = []Atom{}
	}
	for i, k := range d.Keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		out.Keys = append(out.Keys, k)
		if ty.IsMap() {
			out.Values = append(out.Values, d.Values[i])
		}
	}
	_ = sortDatum(ty, &out)
	return out
}

// TestDiffApply checks update2 diff semantics: applying Diff(a, b) to a
// yields b, for sets and maps.
func TestDiffApply(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, js := range []string{`{"key":"integer","min":0,"max":"unlimited"}`, `{"key":"integer","value":"string","min":0,"max":"unlimited"}`} {
		ty := mustType(t, js)
		for i := 0; i < 2000; i++ {
			a, b := randDatum(r, ty), randDatum(r, ty)
			diff := Diff(ty, &a, &b)
			got := ApplyDiff(ty, &a, &diff)
			if !got.Equal(&b) && !(len(got.Keys) == 0 && len(b.Keys) == 0) {
				t.Fatalf("%s: apply(%v, diff %v) = %v, want %v", js, a, diff, got, b)
			}
		}
	}
	// Scalars and optionals: the diff is the new value.
	ty := mustType(t, `{"key":"integer","min":0,"max":1}`)
	a, b := Datum{Keys: []Atom{IntAtom(1)}}, Datum{}
	if d := Diff(ty, &a, &b); len(d.Keys) != 0 {
		t.Errorf("optional diff %v", d)
	}
}

func TestMutations(t *testing.T) {
	setT := mustType(t, `{"key":{"type":"integer","maxInteger":10},"min":0,"max":3}`)
	mapT := mustType(t, `{"key":"string","value":"string","min":0,"max":"unlimited"}`)
	ts := &TableSchema{Name: "T", ColumnMap: map[string]*ColumnSchema{
		"s": {Name: "s", Index: 2, Type: *setT, Mutable: true},
		"m": {Name: "m", Index: 3, Type: *mapT, Mutable: true},
	}}
	for _, tt := range []struct{ col, start, muts, want, err string }{
		{"s", `["set",[1,2]]`, `[["s","+=",1]]`, `["set",[2,3]]`, ""},
		{"s", `["set",[1,2]]`, `[["s","*=",0]]`, ``, `Result of "*=" operation contains duplicates.`},
		{"s", `["set",[1,9]]`, `[["s","+=",5]]`, ``, "14 is greater than maximum allowed value 10"},
		{"s", `["set",[1,2]]`, `[["s","insert",["set",[3,4]]]]`, ``, "Attempted to store 4 elements in set of up to 3 integers."},
		{"s", `["set",[1,2]]`, `[["s","delete",["set",[2,7]]]]`, `1`, ""},
		{"s", `["set",[4,6]]`, `[["s","%=",4]]`, `["set",[0,2]]`, ""},
		{"s", `["set",[4]]`, `[["s","/=",0]]`, ``, "Division by zero."},
		{"m", `["map",[["a","1"]]]`, `[["m","insert",["map",[["a","2"],["b","3"]]]]]`, `["map",[["a","1"],["b","3"]]]`, ""},
		{"m", `["map",[["a","1"],["b","3"]]]`, `[["m","delete",["map",[["a","2"],["b","3"]]]]]`, `["map",[["a","1"]]]`, ""},
		{"m", `["map",[["a","1"],["b","3"]]]`, `[["m","delete",["set",["a"]]]]`, `["map",[["b","3"]]]`, ""},
	} {
		c := ts.ColumnMap[tt.col]
		sv, _ := ParseJSON([]byte(tt.start))
		d, err := DatumFromJSON(&c.Type, sv, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := &Row{Data: make([]*Datum, 4)}
		r.Data[c.Index] = &d
		mv, _ := ParseJSON([]byte(tt.muts))
		muts, err := parseMutations(ts, mv, nil)
		if err == nil {
			for _, m := range muts {
				if err = m.apply(r); err != nil {
					break
				}
			}
		}
		switch {
		case tt.err != "":
			if err == nil || err.Details != tt.err {
				t.Errorf("%s %s: error %v, want %s", tt.start, tt.muts, err, tt.err)
			}
		case err != nil:
			t.Errorf("%s %s: %v", tt.start, tt.muts, err)
		default:
			if got := string(r.Data[c.Index].AppendJSON(nil, &c.Type)); got != tt.want {
				t.Errorf("%s %s = %s, want %s", tt.start, tt.muts, got, tt.want)
			}
		}
	}
}

// TestMergeDatumFewIntoMany checks the binary-search path of mergeDatum
// (a few keys into a large set or map) against the linear merge.
func TestMergeDatumFewIntoMany(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, js := range []string{
		`{"key":"integer","min":0,"max":"unlimited"}`,
		`{"key":"integer","value":"string","min":0,"max":"unlimited"}`,
	} {
		ty := mustType(t, js)
		for range 500 {
			var a, b Datum
			for _, p := range []struct {
				d *Datum
				n int
			}{{&a, 8 + r.IntN(60)}, {&b, r.IntN(4)}} {
				seen := map[int64]bool{}
				for range p.n {
					k := int64(r.IntN(100))
					if seen[k] {
						continue
					}
					seen[k] = true
					p.d.Keys = append(p.d.Keys, IntAtom(k))
					if ty.IsMap() {
						p.d.Values = append(p.d.Values, StringAtom(string(rune('a'+r.IntN(3)))))
					}
				}
				if err := sortDatum(ty, p.d); err != nil {
					t.Fatal(err)
				}
			}
			got := mergeDatum(ty, &a, &b)
			want := linearMerge(ty, &a, &b)
			if !got.Equal(&want) {
				t.Fatalf("merge %s + %s = %s, want %s", a.String(ty), b.String(ty), got.String(ty), want.String(ty))
			}
		}
	}
}

// linearMerge is the reference union: every key of a, then b's keys not in
// a, sorted.
func linearMerge(ty *Type, a, b *Datum) Datum {
	d := a.Clone()
	for j, k := range b.Keys {
		if a.Find(ty.Key.Type, k) >= 0 {
			continue
		}
		d.Keys = append(d.Keys, k)
		if ty.IsMap() {
			d.Values = append(d.Values, b.Values[j])
		}
	}
	_ = sortDatum(ty, &d)
	return d
}
