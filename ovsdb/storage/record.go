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
// A damaged record with no intact record after it is a torn tail, not an
// error: a crash in the middle of an append leaves a prefix of a record, and
// filesystem recovery may leave zeros or stale blocks instead of some of its
// bytes; either way nothing intact follows. It must be truncated away before
// appending (Open vSwitch too drops a bad last record with a warning). A
// damaged record followed by an intact one is corruption and wraps
// ErrCorrupt: dropping it would silently lose committed transactions.
func scanRecords(data []byte) (scanResult, error) {
	var res scanResult
	for off := 0; off < len(data); {
		idx := len(res.bodies)
		n, body, reason, err := checkRecord(data[off:])
		if err != nil {
			return res, fmt.Errorf("record %d at offset %d: %w", idx, off, err)
		}
		if reason != "" {
			if intactRecordAfter(data, off) {
				return res, corruptf(idx, off, "%s", reason)
			}
			res.torn = fmt.Sprintf("record %d at offset %d: %s (%d bytes to the end)", idx, off, reason, len(data)-off)
			return res, nil
		}
		res.bodies = append(res.bodies, trimSpace(body))
		off += n
		res.end = off
		res.ends = append(res.ends, off)
	}
	return res, nil
}

// checkRecord checks the record at the start of rest and returns its size
// and body, or a reason why it is damaged, or ErrClustered.
func checkRecord(rest []byte) (n int, body []byte, reason string, err error) {
	nl := bytes.IndexByte(rest[:min(len(rest), maxHeaderSize)], '\n')
	if nl < 0 {
		if len(rest) < maxHeaderSize {
			return 0, nil, "incomplete header", nil
		}
		return 0, nil, "header line too long", nil
	}
	size, sum, herr := parseHeader(rest[:nl])
	if errors.Is(herr, ErrClustered) {
		return 0, nil, "", herr
	}
	if herr != nil {
		return 0, nil, herr.Error(), nil
	}
	start := nl + 1
	if size > len(rest)-start {
		return 0, nil, fmt.Sprintf("%d of %d body bytes", len(rest)-start, size), nil
	}
	body = rest[start : start+size]
	if sha1.Sum(body) != sum {
		return 0, nil, "sha-1 mismatch", nil
	}
	if !json.Valid(body) {
		return 0, nil, "body is not valid json", nil
	}
	return start + size, body, "", nil
}

// intactRecordAfter reports whether a record with a valid header and
// checksum starts at the beginning of a line somewhere after data[off].
func intactRecordAfter(data []byte, off int) bool {
	magic := []byte(magicJSON)
	for i := off + 1; i < len(data); {
		j := bytes.Index(data[i:], magic)
		if j < 0 {
			return false
		}
		p := i + j
		i = p + 1
		if data[p-1] != '\n' {
			continue
		}
		rest := data[p:]
		nl := bytes.IndexByte(rest[:min(len(rest), maxHeaderSize)], '\n')
		if nl < 0 {
			continue
		}
		size, sum, err := parseHeader(rest[:nl])
		if err != nil || size > len(rest)-nl-1 {
			continue
		}
		if sha1.Sum(rest[nl+1:nl+1+size]) == sum {
			return true
		}
	}
	return false
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
