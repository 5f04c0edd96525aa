package testutil

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gvswitch/gvswitch/datapath/netdev"
)

// InCI reports whether the tests run in continuous integration (env CI=true),
// where missing privileges or tools fail tests instead of skipping them.
func InCI() bool {
	return strings.EqualFold(os.Getenv("CI"), "true")
}

// Require stops the test when ok is false: t.Fatalf in CI, t.Skipf
// elsewhere. The reason should name what is missing.
func Require(t testing.TB, ok bool, reasonFmt string, args ...any) {
	t.Helper()
	if ok {
		return
	}
	if InCI() {
		t.Fatalf("required (CI=true): "+reasonFmt, args...)
	}
	t.Skipf("skipping: "+reasonFmt, args...)
}

// RequireRoot requires an effective user id of 0.
func RequireRoot(t testing.TB) {
	t.Helper()
	Require(t, os.Geteuid() == 0, "test needs root (euid is %d)", os.Geteuid())
}

// RequireBinary requires an executable named name, looked up in PATH and in
// /usr/sbin and /sbin (which are often missing from non-root PATHs). It
// returns the path found.
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	p, err := LookBinary(name)
	Require(t, err == nil, "binary %q not found: %v", name, err)
	return p
}

// LookBinary finds an executable like RequireBinary, returning an error
// instead of stopping a test.
func LookBinary(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil {
		return p, nil
	}
	if !strings.Contains(name, "/") {
		for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
			if q, err2 := exec.LookPath(dir + "/" + name); err2 == nil {
				return q, nil
			}
		}
	}
	return "", err
}

// SkipIfNotSupported skips the test (fails it in CI) when err wraps
// netdev.ErrNotSupported, so that a missing kernel feature is reported
// honestly. It fails the test when err is the bare sentinel (an error without
// context hides which feature was missing) and does nothing for any other
// error, including nil: check those yourself.
//
// When some error in the chain has a MinKernel() (major, minor int) method
// and the running kernel is at or above that version, the feature should
// have worked, so the test fails instead of skipping.
func SkipIfNotSupported(t testing.TB, err error) {
	t.Helper()
	if err == nil || !errors.Is(err, netdev.ErrNotSupported) {
		return
	}
	if err == netdev.ErrNotSupported { //nolint:errorlint // bare sentinel on purpose
		t.Fatalf("bare netdev.ErrNotSupported without context: wrap it to say which feature is missing")
	}
	var mk interface{ MinKernel() (major, minor int) }
	if errors.As(err, &mk) {
		maj, minr := mk.MinKernel()
		if kmaj, kmin, ok := KernelVersion(); ok && (kmaj > maj || (kmaj == maj && kmin >= minr)) {
			t.Fatalf("%v: kernel %d.%d is at or above the feature's minimum %d.%d", err, kmaj, kmin, maj, minr)
		}
	}
	Require(t, false, "%v", err)
}
