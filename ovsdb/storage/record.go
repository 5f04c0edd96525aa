package storage

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

const (
	// magicJSON starts every record header of a standalone database.
	magicJSON = "OVSDB JSON "
	// magicCluster starts the headers of a clustered (Raft) database, which
	// this package does not read.
	magicCluster = "OVSDB CLUSTER "
	// maxHeaderSize bounds a header line: Open vSwitch reads headers into
	// a 128-byte buffer ("OVSDB CLUSTER " + 20 digits + " " + 40 hex + LF
	// is 76 bytes).
	maxHeaderSize = 128
)

// appendRecord appends a complete record (header and body) holding body, one
// compact JSON text without the trailing line feed.
func appendRecord(dst, body []byte) []byte {
	h := sha1.New()
	h.Write(body)
	h.Write([]byte{'\n'})
	var sum [sha1.Size]byte
	dst = append(dst, magicJSON...)
	dst = strconv.AppendInt(dst, int64(len(body)+1), 10)
	dst = append(dst, ' ')
	dst = hex.AppendEncode(dst, h.Sum(sum[:0]))
	dst = append(dst, '\n')
	dst = append(dst, body...)
	return append(dst, '\n')
}

// scanResult is what scanRecords found in a log file's contents.
type scanResult struct {
	// bodies are the record bodies without their trailing line feed,
	// sub-slices of the scanned data.
	bodies [][]byte
	// ends are the offsets just past each record.
	ends []int
	// end is the offset just past the last intact record.
	end int
	// torn, when not empty, says why the bytes from end to the end of
	// the data are a torn last record (an interrupted write) rather than
	// damage: they must be truncated away before appending.
	torn string
}

// scanRecords splits data, the whole contents of a log file, into records,
// verifying each header, length, SHA-1 and JSON body. It never panics.
//
// The tail after the last intact record counts as torn (not an error) when
// it can be a prefix of one record as a crashed writer leaves it: a body is
// compact JSON and holds exactly one line feed, its last byte, so a partial
// write never contains a line feed after the header. A file that filesystem
// recovery zero-filled has none either. A bad checksum on a complete record
// that ends exactly at the end of the file is also a torn write. Anything
// else wraps ErrCorrupt.
func scanRecords(data []byte) (scanResult, error) {
	var res scanResult
	for off := 0; off < len(data); {
		rest := data[off:]
		idx := len(res.bodies)
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			res.torn = fmt.Sprintf("record %d at offset %d: incomplete header (%d bytes)", idx, off, len(rest))
			return res, nil
		}
		if nl >= maxHeaderSize {
			return res, corruptf(idx, off, "header line too long")
		}
		size, sum, err := parseHeader(rest[:nl])
		if errors.Is(err, ErrClustered) {
			return res, err
		}
		if err != nil {
			return res, corruptf(idx, off, "%v", err)
		}
		start := nl + 1
		if size > len(rest)-start {
			if bytes.IndexByte(rest[start:], '\n') < 0 {
				res.torn = fmt.Sprintf("record %d at offset %d: %d of %d body bytes", idx, off, len(rest)-start, size)
				return res, nil
			}
			return res, corruptf(idx, off, "length %d exceeds the %d bytes left", size, len(rest)-start)
		}
		body := rest[start : start+size]
		if sha1.Sum(body) != sum {
			if start+size == len(rest) {
				res.torn = fmt.Sprintf("record %d at offset %d: sha-1 mismatch in last record", idx, off)
				return res, nil
			}
			return res, corruptf(idx, off, "sha-1 mismatch")
		}
		if !json.Valid(body) {
			return res, corruptf(idx, off, "body is not valid json")
		}
		res.bodies = append(res.bodies, trimSpace(body))
		off += start + size
		res.end = off
		res.ends = append(res.ends, off)
	}
	return res, nil
}

func corruptf(idx, off int, format string, args ...any) error {
	return fmt.Errorf("record %d at offset %d: %s: %w", idx, off, fmt.Sprintf(format, args...), ErrCorrupt)
}

// parseHeader parses a header line without its line feed:
// "OVSDB JSON <decimal length> <40 hex digits of SHA-1>".
func parseHeader(line []byte) (size int, sum [sha1.Size]byte, err error) {
	if bytes.HasPrefix(line, []byte(magicCluster)) {
		return 0, sum, ErrClustered
	}
	rest, ok := bytes.CutPrefix(line, []byte(magicJSON))
	if !ok {
		return 0, sum, fmt.Errorf("bad magic %q", truncate(line, 16))
	}
	num, digest, ok := bytes.Cut(rest, []byte{' '})
	if !ok || len(num) == 0 || len(num) > 19 || num[0] < '0' || num[0] > '9' {
		return 0, sum, fmt.Errorf("bad length in header %q", truncate(line, 80))
	}
	n, perr := strconv.ParseUint(string(num), 10, 63)
	if perr != nil || n == 0 {
		return 0, sum, fmt.Errorf("bad length in header %q", truncate(line, 80))
	}
	if len(digest) != 2*sha1.Size {
		return 0, sum, fmt.Errorf("bad sha-1 in header %q", truncate(line, 80))
	}
	if _, herr := hex.Decode(sum[:], digest); herr != nil {
		return 0, sum, fmt.Errorf("bad sha-1 in header %q", truncate(line, 80))
	}
	if n > uint64(maxInt) {
		return 0, sum, fmt.Errorf("length %d too large", n)
	}
	return int(n), sum, nil
}

const maxInt = int(^uint(0) >> 1)

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
