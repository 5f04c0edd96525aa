package ovsdb

import "sort"

// Large sets and maps that grow or shrink by a few elements per mutation
// (a key into a bridge's external_ids, a port into its ports) would
// otherwise be copied in full on every mutate: the transaction cannot
// change the committed datum, which readers, monitors and the commit
// history still see. Such a datum keeps its elements in sorted chunks
// instead, and a mutation copies only the chunks it changes and the list
// of chunks; the versions share the rest. Diff and Equal skip the chunks
// two versions share, so an update2 "modify" and the log record cost what
// changed, not the size of the column.
const (
	// bigDatumMin is the element count from which a few-element insert
	// produces a chunked datum.
	bigDatumMin = 256
	// chunkTarget is the size chunks are cut to; a chunk that grows past
	// twice that is split.
	chunkTarget = 64
)

// bigDatum holds a datum's elements as sorted, non-empty, immutable chunks:
// every key of a chunk sorts before every key of the next.
type bigDatum struct {
	chunks []datumChunk
	n      int
}

type datumChunk struct {
	keys, vals []Atom // vals nil for a set
}

// same reports whether c and o are the same chunk (shared by two versions).
func (c datumChunk) same(o datumChunk) bool {
	return len(c.keys) == len(o.keys) && &c.keys[0] == &o.keys[0]
}

// Flat returns d with its elements in Keys and Values: d itself, or for a
// chunked datum a new flat copy. Code that indexes Keys or Values of a
// datum stored in a row must call it first.
func (d *Datum) Flat() *Datum {
	if d.big == nil {
		return d
	}
	return flatten(d.big.chunks, d.big.n)
}

func flatten(chunks []datumChunk, n int) *Datum {
	f := &Datum{Keys: make([]Atom, 0, n)}
	isMap := chunks[0].vals != nil
	if isMap {
		f.Values = make([]Atom, 0, n)
	}
	for _, c := range chunks {
		f.Keys = append(f.Keys, c.keys...)
		if isMap {
			f.Values = append(f.Values, c.vals...)
		}
	}
	return f
}

// chunksOf returns d's chunks, cutting a flat d into chunks of chunkTarget
// elements that share its arrays.
func chunksOf(d *Datum) []datumChunk {
	if d.big != nil {
		return d.big.chunks
	}
	return cutChunks(nil, d.Keys, d.Values)
}

// cutChunks appends keys and vals cut into chunks of about chunkTarget
// elements (capacity-limited slices of the same arrays).
func cutChunks(out []datumChunk, keys, vals []Atom) []datumChunk {
	n := len(keys)
	pieces := max(1, (n+chunkTarget/2)/chunkTarget)
	for p := range pieces {
		lo, hi := p*n/pieces, (p+1)*n/pieces
		c := datumChunk{keys: keys[lo:hi:hi]}
		if vals != nil {
			c.vals = vals[lo:hi:hi]
		}
		out = append(out, c)
	}
	return out
}

// middles returns the parts of a and b between the chunks they share at
// both ends, flattened. Both are sorted, so a and b are equal exactly when
// their middles are, and their Diff is the middles' Diff.
func middles(a, b *bigDatum) (*Datum, *Datum) {
	ac, bc := a.chunks, b.chunks
	p := 0
	for p < len(ac) && p < len(bc) && ac[p].same(bc[p]) {
		p++
	}
	s := 0
	for s < len(ac)-p && s < len(bc)-p && ac[len(ac)-1-s].same(bc[len(bc)-1-s]) {
		s++
	}
	return flatRange(ac[p : len(ac)-s]), flatRange(bc[p : len(bc)-s])
}

func flatRange(chunks []datumChunk) *Datum {
	if len(chunks) == 0 {
		return &Datum{}
	}
	if len(chunks) == 1 {
		return &Datum{Keys: chunks[0].keys, Values: chunks[0].vals}
	}
	n := 0
	for _, c := range chunks {
		n += len(c.keys)
	}
	return flatten(chunks, n)
}

// partition returns the end of the run of keys from j on that belong to
// chunk ci of chunks: those sorting before the next chunk's first key.
func partition(kt AtomicType, chunks []datumChunk, ci int, keys []Atom, j int) int {
	if ci+1 == len(chunks) {
		return len(keys)
	}
	next := chunks[ci+1].keys[0]
	return j + sort.Search(len(keys)-j, func(i int) bool { return compareAtoms(kt, keys[j+i], next) >= 0 })
}

func sub(d *Datum, lo, hi int) *Datum {
	s := &Datum{Keys: d.Keys[lo:hi]}
	if d.Values != nil {
		s.Values = d.Values[lo:hi]
	}
	return s
}

// editChunks runs op on each chunk of chunks that some of b's (sorted)
// keys fall in, with those keys, and adds the result through put; the
// chunks op leaves alone, or leaves the same size, are shared as they are.
// It returns the new chunks and how many elements they gained (negative:
// lost).
func editChunks(kt AtomicType, chunks []datumChunk, b *Datum, extra int,
	op func(c, part *Datum) Datum, put func(out []datumChunk, m Datum) []datumChunk) ([]datumChunk, int) {
	out := make([]datumChunk, 0, len(chunks)+extra)
	delta, j := 0, 0
	for ci, c := range chunks {
		hi := partition(kt, chunks, ci, b.Keys, j)
		if hi == j {
			out = append(out, c)
			continue
		}
		m := op(&Datum{Keys: c.keys, Values: c.vals}, sub(b, j, hi))
		j = hi
		if len(m.Keys) == len(c.keys) { // nothing added or removed
			out = append(out, c)
			continue
		}
		delta += len(m.Keys) - len(c.keys)
		out = put(out, m)
	}
	return out, delta
}

// mergeBig is mergeDatum for a few elements into a large datum: only the
// chunks that receive elements are copied.
func mergeBig(t *Type, a, b *Datum) Datum {
	out, delta := editChunks(t.Key.Type, chunksOf(a), b, 1,
		func(c, part *Datum) Datum { return mergeFlat(t, c, part) },
		func(out []datumChunk, m Datum) []datumChunk {
			if len(m.Keys) > 2*chunkTarget {
				return cutChunks(out, m.Keys, m.Values)
			}
			return append(out, datumChunk{keys: m.Keys, vals: m.Values})
		})
	return Datum{big: &bigDatum{chunks: out, n: a.Len() + delta}}
}

// subtractBig is subtractDatum for a few elements out of a large chunked
// datum: only the chunks that lose elements are copied. The result is flat
// once it has shrunk to half of bigDatumMin.
func subtractBig(t *Type, a, b *Datum, pairs bool) Datum {
	out, delta := editChunks(t.Key.Type, a.big.chunks, b, 0,
		func(c, part *Datum) Datum { return subtractFlat(t, c, part, pairs) },
		func(out []datumChunk, m Datum) []datumChunk {
			if len(m.Keys) > 0 {
				return append(out, datumChunk{keys: m.Keys, vals: m.Values})
			}
			return out
		})
	n := a.big.n + delta
	if n < bigDatumMin/2 || len(out) > 4*(n/chunkTarget+1) {
		if n == 0 {
			if a.big.chunks[0].vals != nil {
				return Datum{Keys: []Atom{}, Values: []Atom{}}
			}
			return Datum{Keys: []Atom{}}
		}
		f := flatten(out, n)
		if n < bigDatumMin/2 {
			return *f
		}
		// Many small chunks left by deletions: cut them anew.
		return Datum{big: &bigDatum{chunks: cutChunks(nil, f.Keys, f.Values), n: n}}
	}
	return Datum{big: &bigDatum{chunks: out, n: n}}
}

// keysChanged returns the keys of old and new to compare for what changed:
// all of them, or for two chunked versions only the parts between the
// chunks they share.
func keysChanged(old, new *Datum) (ok, nk []Atom) {
	if old.big != nil && new.big != nil {
		old, new = middles(old.big, new.big)
	}
	return old.Flat().Keys, new.Flat().Keys
}
