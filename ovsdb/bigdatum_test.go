package ovsdb

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// bigOps runs a sequence of few-element inserts and deletes, given as
// bytes, on a large map (or set) and checks every chunked result against
// the same mutation on flat datums: elements, Len, Equal, Diff, JSON.
func bigOps(t *testing.T, isMap bool, start int, ops []byte) {
	t.Helper()
	ty := mustTypeF(`{"key":"integer","min":0,"max":"unlimited"}`)
	if isMap {
		ty = mustTypeF(`{"key":"integer","value":"string","min":0,"max":"unlimited"}`)
	}
	elems := func(keys ...int) Datum {
		var d Datum
		slices.Sort(keys)
		keys = slices.Compact(keys)
		for _, k := range keys {
			d.Keys = append(d.Keys, IntAtom(int64(k)))
			if isMap {
				d.Values = append(d.Values, StringAtom(fmt.Sprint("v", k%7)))
			}
		}
		if isMap && d.Values == nil {
			d.Values = []Atom{}
		}
		return d
	}
	var keys []int
	for i := range start {
		keys = append(keys, 2*i)
	}
	cur := elems(keys...)
	for i := 0; i+2 < len(ops); i += 3 {
		op, k, n := ops[i]%4, int(ops[i+1])*int(ops[i+2]%16+1), int(ops[i+2]%3+1)
		var ks []int
		for j := range n {
			ks = append(ks, k+j*37)
		}
		arg := elems(ks...)
		var got, want Datum
		switch op {
		case 0, 1:
			got, want = mergeDatum(ty, &cur, &arg), mergeFlat(ty, cur.Flat(), &arg)
		case 2:
			got, want = subtractDatum(ty, &cur, &arg, false), subtractFlat(ty, cur.Flat(), &arg, false)
		case 3:
			// Pairs: only those whose value matches go.
			if isMap {
				arg.Values[0] = StringAtom("v0")
			}
			got, want = subtractDatum(ty, &cur, &arg, isMap), subtractFlat(ty, cur.Flat(), &arg, isMap)
		}
		checkBig(t, ty, &got)
		f := got.Flat()
		if got.Len() != len(want.Keys) || !slices.Equal(f.Keys, want.Keys) || !slices.Equal(f.Values, want.Values) {
			t.Fatalf("op %d (%d %v): got %s, want %s", i/3, op, ks, f.AppendJSON(nil, ty), want.AppendJSON(nil, ty))
		}
		if g, w := string(got.AppendJSON(nil, ty)), string(want.AppendJSON(nil, ty)); g != w {
			t.Fatalf("op %d: JSON %s, want %s", i/3, g, w)
		}
		if g, w := got.String(ty), want.String(ty); g != w {
			t.Fatalf("op %d: String %s, want %s", i/3, g, w)
		}
		if !got.Equal(&want) || !want.Equal(&got) {
			t.Fatalf("op %d: not Equal to the flat result", i/3)
		}
		if got.Equal(&cur) != want.Equal(cur.Flat()) {
			t.Fatalf("op %d: Equal(old, new) = %v, flat %v", i/3, got.Equal(&cur), want.Equal(cur.Flat()))
		}
		gd, wd := Diff(ty, &cur, &got), Diff(ty, cur.Flat(), &want)
		if !slices.Equal(gd.Keys, wd.Keys) || !slices.Equal(gd.Values, wd.Values) {
			t.Fatalf("op %d: Diff %s, want %s", i/3, gd.AppendJSON(nil, ty), wd.AppendJSON(nil, ty))
		}
		if a := ApplyDiff(ty, &cur, &gd); !a.Equal(&got) {
			t.Fatalf("op %d: ApplyDiff(old, Diff) != new", i/3)
		}
		cur = got
	}
}

// checkBig checks a chunked datum's invariants: non-empty chunks in
// ascending order, the count, keys and values of equal length.
func checkBig(t *testing.T, ty *Type, d *Datum) {
	t.Helper()
	if d.big == nil {
		return
	}
	if d.Keys != nil || d.Values != nil {
		t.Fatal("chunked datum with flat elements")
	}
	n := 0
	var last *Atom
	for i, c := range d.big.chunks {
		if len(c.keys) == 0 || (ty.IsMap() != (c.vals != nil)) || (c.vals != nil && len(c.vals) != len(c.keys)) {
			t.Fatalf("chunk %d: %d keys, %d values", i, len(c.keys), len(c.vals))
		}
		for j := range c.keys {
			if last != nil && compareAtoms(ty.Key.Type, *last, c.keys[j]) >= 0 {
				t.Fatalf("chunk %d element %d out of order", i, j)
			}
			last = &c.keys[j]
		}
		n += len(c.keys)
	}
	if n != d.big.n {
		t.Fatalf("count %d, chunks hold %d", d.big.n, n)
	}
}

func TestBigDatumMutations(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, isMap := range []bool{true, false} {
		for _, start := range []int{0, 200, bigDatumMin, 1000} {
			ops := make([]byte, 3*400)
			for i := range ops {
				ops[i] = byte(r.IntN(256))
			}
			t.Run(fmt.Sprintf("map=%v/start=%d", isMap, start), func(t *testing.T) { bigOps(t, isMap, start, ops) })
		}
	}
}

// TestBigDatumShares checks that a few-key insert into a large map copies
// only the chunk it lands in, and that the versions' Diff is that key.
func TestBigDatumShares(t *testing.T) {
	ty := mustTypeF(`{"key":"string","value":"string","min":0,"max":"unlimited"}`)
	var d Datum
	for i := range 2000 {
		d = mergeDatum(ty, &d, &Datum{Keys: []Atom{StringAtom(fmt.Sprint("k", i))}, Values: []Atom{StringAtom("v")}})
	}
	if d.big == nil {
		t.Fatal("2000-key map built by single inserts is not chunked")
	}
	nd := mergeDatum(ty, &d, &Datum{Keys: []Atom{StringAtom("k5000")}, Values: []Atom{StringAtom("v")}})
	shared := 0
	for _, c := range nd.big.chunks {
		for _, o := range d.big.chunks {
			if c.same(o) {
				shared++
			}
		}
	}
	if shared < len(d.big.chunks)-1 {
		t.Errorf("%d of %d chunks shared after one insert", shared, len(d.big.chunks))
	}
	if diff := Diff(ty, &d, &nd); len(diff.Keys) != 1 || diff.Keys[0].S != "k5000" {
		t.Errorf("diff %s", diff.AppendJSON(nil, ty))
	}
}

// FuzzBigDatum runs arbitrary insert and delete sequences on large maps
// and sets, chunked against flat.
func FuzzBigDatum(f *testing.F) {
	f.Add(true, uint16(300), []byte{0, 5, 1, 2, 7, 0, 3, 0, 2})
	f.Add(false, uint16(1000), []byte{1, 255, 15, 2, 0, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, isMap bool, start uint16, ops []byte) {
		bigOps(t, isMap, int(start%2048), ops)
	})
}
