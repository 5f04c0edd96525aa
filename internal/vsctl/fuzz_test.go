package vsctl

import (
	"math"
	"testing"
)

var fuzzTypes = []ColType{
	{Key: BaseType{Type: TypeString, MaxLen: math.MaxInt}, Min: 1, Max: 1},
	{Key: BaseType{Type: TypeInteger, MinInt: 0, MaxInt: 4095, hasMinInt: true, hasMaxInt: true}, Min: 0, Max: 4096},
	{Key: BaseType{Type: TypeString, MaxLen: math.MaxInt}, Value: BaseType{Type: TypeString, MaxLen: math.MaxInt}, Min: 0, Max: math.MaxInt},
	{Key: BaseType{Type: TypeUUID}, Min: 0, Max: math.MaxInt},
	{Key: BaseType{Type: TypeBoolean}, Min: 1, Max: 1},
	{Key: BaseType{Type: TypeReal, MinReal: -math.MaxFloat64, MaxReal: math.MaxFloat64}, Min: 0, Max: 1},
}

// FuzzParseDatum feeds command-line value syntax to the parser: it must
// never panic, and whatever it accepts must print and re-parse to the same
// value.
func FuzzParseDatum(f *testing.F) {
	for _, s := range []string{"", "a", `"a b"`, "{a=b, c=\"d\"}", "[1,2,3]", "1-5", "{a=b", "a=b}", `"\u00e9"`, "[]", "true", "@x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for i := range fuzzTypes {
			typ := &fuzzTypes[i]
			d, err := parseDatum(s, typ, func(string) (string, error) { return "00000000-0000-0000-0000-000000000001", nil })
			if err != nil {
				continue
			}
			str := d.String(typ)
			_ = d.Bare(typ)
			back, err := DatumFromJSON([]byte(d.JSON(typ)), typ)
			if err != nil || !back.Equal(d) {
				t.Fatalf("%q as %v: JSON round trip %q: %v", s, typ.Key.Type, d.JSON(typ), err)
			}
			if typ.Key.Type != TypeReal {
				again, err := parseDatum(str, typ, nil)
				if err != nil || !again.Equal(d) {
					t.Fatalf("%q as %v: printed %q does not parse back: %v", s, typ.Key.Type, str, err)
				}
			}
		}
	})
}

// FuzzDatumFromJSON feeds wire notation (from the server) to the decoder.
func FuzzDatumFromJSON(f *testing.F) {
	for _, s := range []string{`["set",[1,2]]`, `["map",[["a","b"]]]`, `["uuid","x"]`, `1`, `"s"`, `[`, `["set",[["uuid"]]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for i := range fuzzTypes {
			d, err := DatumFromJSON(b, &fuzzTypes[i])
			if err == nil {
				_ = d.String(&fuzzTypes[i])
			}
		}
	})
}
