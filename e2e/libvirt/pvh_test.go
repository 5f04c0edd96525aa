//go:build linux

package libvirt

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/gvswitch/gvswitch/internal/testutil"
)

// Booting a bzImage under TCG first runs its real-mode setup and in-guest
// decompressor, seconds of emulated CPU per guest on a busy host. QEMU also
// boots an uncompressed ELF vmlinux straight into 32-bit code through its PVH
// entry point (ELF note XEN_ELFNOTE_PHYS32_ENTRY, CONFIG_PVH=y in Debian's
// kernels). pvhKernel extracts that vmlinux when the bzImage payload is LZ4
// (Debian's cloud kernel) and has the note; otherwise the bzImage is used.

const xenElfNotePhys32Entry = 18

// pvhKernel writes the vmlinux inside bzImage to path and returns path, or
// returns an error saying why the bzImage must be used as is.
func pvhKernel(bzImage, path string) (string, error) {
	b, err := os.ReadFile(bzImage)
	if err != nil {
		return "", err
	}
	payload, err := bzPayload(b)
	if err != nil {
		return "", err
	}
	vmlinux, err := unlz4Legacy(payload)
	if err != nil {
		return "", err
	}
	f, err := elf.NewFile(bytes.NewReader(vmlinux))
	if err != nil {
		return "", fmt.Errorf("payload is not ELF: %w", err)
	}
	if !hasPVHNote(f, vmlinux) {
		return "", errors.New("vmlinux has no PVH entry note")
	}
	return path, os.WriteFile(path, vmlinux, 0o644)
}

// bzPayload returns the compressed kernel of a bzImage (boot protocol >=
// 2.08: payload_offset/payload_length, relative to the protected-mode code).
func bzPayload(b []byte) ([]byte, error) {
	if len(b) < 0x250 || string(b[0x202:0x206]) != "HdrS" {
		return nil, errors.New("not a bzImage")
	}
	if binary.LittleEndian.Uint16(b[0x206:]) < 0x208 {
		return nil, errors.New("boot protocol older than 2.08")
	}
	setup := int(b[0x1f1])
	if setup == 0 {
		setup = 4
	}
	start := (setup + 1) * 512
	off := int(binary.LittleEndian.Uint32(b[0x248:]))
	n := int(binary.LittleEndian.Uint32(b[0x24c:]))
	if start+off+n > len(b) || n < 8 {
		return nil, errors.New("bad payload bounds")
	}
	return b[start+off : start+off+n], nil
}

// unlz4Legacy decodes an LZ4 legacy frame (magic 0x184C2102, then blocks of
// 4-byte size + LZ4 block) as the kernel build writes it, with its 4-byte
// uncompressed size appended.
func unlz4Legacy(in []byte) ([]byte, error) {
	if len(in) < 8 || binary.LittleEndian.Uint32(in) != 0x184c2102 {
		return nil, errors.New("payload is not LZ4 (legacy frame)")
	}
	want := int(binary.LittleEndian.Uint32(in[len(in)-4:]))
	if want <= 0 || want > 512<<20 {
		return nil, errors.New("implausible uncompressed size")
	}
	in = in[4 : len(in)-4]
	out := make([]byte, 0, want)
	for len(in) >= 4 {
		n := int(binary.LittleEndian.Uint32(in))
		in = in[4:]
		if n == 0x184c2102 { // concatenated frame
			continue
		}
		if n <= 0 || n > len(in) {
			return nil, errors.New("bad LZ4 block size")
		}
		var err error
		if out, err = lz4Block(out, in[:n]); err != nil {
			return nil, err
		}
		in = in[n:]
	}
	if len(out) != want {
		return nil, fmt.Errorf("LZ4: got %d bytes, want %d", len(out), want)
	}
	return out, nil
}

// lz4Block appends the decoded LZ4 block src to dst.
func lz4Block(dst, src []byte) ([]byte, error) {
	errCorrupt := errors.New("corrupt LZ4 block")
	i := 0
	length := func(n int) (int, bool) {
		if n != 15 {
			return n, true
		}
		for i < len(src) {
			c := src[i]
			i++
			n += int(c)
			if c != 255 {
				return n, true
			}
		}
		return 0, false
	}
	for i < len(src) {
		tok := src[i]
		i++
		lit, ok := length(int(tok >> 4))
		if !ok || lit > len(src)-i {
			return nil, errCorrupt
		}
		dst = append(dst, src[i:i+lit]...)
		i += lit
		if i == len(src) {
			return dst, nil
		}
		if i+2 > len(src) {
			return nil, errCorrupt
		}
		off := int(src[i]) | int(src[i+1])<<8
		i += 2
		ml, ok := length(int(tok & 15))
		if !ok || off == 0 || off > len(dst) {
			return nil, errCorrupt
		}
		ml += 4
		from := len(dst) - off
		for k := 0; k < ml; k++ {
			dst = append(dst, dst[from+k])
		}
	}
	return dst, nil
}

// hasPVHNote looks for the Xen PHYS32_ENTRY note in the ELF's note segments.
func hasPVHNote(f *elf.File, raw []byte) bool {
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE || p.Off+p.Filesz > uint64(len(raw)) {
			continue
		}
		n := raw[p.Off : p.Off+p.Filesz]
		for len(n) >= 12 {
			nsz := int(binary.LittleEndian.Uint32(n))
			dsz := int(binary.LittleEndian.Uint32(n[4:]))
			typ := binary.LittleEndian.Uint32(n[8:])
			total := 12 + (nsz+3)&^3 + (dsz+3)&^3
			if nsz < 0 || dsz < 0 || total > len(n) {
				break
			}
			if typ == xenElfNotePhys32Entry && bytes.HasPrefix(n[12:12+nsz], []byte("Xen")) {
				return true
			}
			n = n[total:]
		}
	}
	return false
}

func TestPVHKernelExtract(t *testing.T) {
	k, err := findGuestKernel()
	testutil.Require(t, err == nil, "guest kernel: %v", err)
	p, err := pvhKernel(k.Image, t.TempDir()+"/vmlinux")
	if err != nil {
		// Not an error: other kernels (xz, zstd, no CONFIG_PVH) boot as
		// bzImages.
		t.Skipf("%s boots as a bzImage: %v", k.Image, err)
	}
	if st, err := os.Stat(p); err != nil || st.Size() < 1<<20 {
		t.Fatalf("vmlinux %s: %v", p, err)
	}
}
