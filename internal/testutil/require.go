package testutil

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
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
// When some error in the chain states the feature's minimum kernel and the
// running kernel is at or above it, the feature should have worked, so the
// test fails instead of skipping. The minimum is read from a MinKernel()
// (major, minor int) method, or from a field named MinKernel holding a
// string such as "5.10" or a struct with Major and Minor fields (the
// UnsupportedFeatureError{Name, MinKernel} shape of STYLE rule 7).
func SkipIfNotSupported(t testing.TB, err error) {
	t.Helper()
	if err == nil || !errors.Is(err, netdev.ErrNotSupported) {
		return
	}
	if err == netdev.ErrNotSupported { //nolint:errorlint // bare sentinel on purpose
		t.Fatalf("bare netdev.ErrNotSupported without context: wrap it to say which feature is missing")
	}
	if maj, minr, ok := minKernelOf(err); ok {
		if kmaj, kmin, ok := KernelVersion(); ok && (kmaj > maj || (kmaj == maj && kmin >= minr)) {
			t.Fatalf("%v: kernel %d.%d is at or above the feature's minimum %d.%d", err, kmaj, kmin, maj, minr)
		}
	}
	Require(t, false, "%v", err)
}

// minKernelOf finds the first minimum kernel version stated in err's chain.
func minKernelOf(err error) (major, minor int, ok bool) {
	queue := []error{err}
	for len(queue) > 0 {
		e := queue[0]
		queue = queue[1:]
		if e == nil {
			continue
		}
		if m, isM := e.(interface{ MinKernel() (int, int) }); isM {
			major, minor = m.MinKernel()
			return major, minor, true
		}
		if major, minor, ok = minKernelField(e); ok {
			return major, minor, true
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			queue = append(queue, u.Unwrap())
		case interface{ Unwrap() []error }:
			queue = append(queue, u.Unwrap()...)
		}
	}
	return 0, 0, false
}

// minKernelField reads a MinKernel field by reflection (a test helper can
// afford it, and the error type lives in a package testutil cannot know).
func minKernelField(e error) (major, minor int, ok bool) {
	v := reflect.ValueOf(e)
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return 0, 0, false
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return 0, 0, false
	}
	f := v.FieldByName("MinKernel")
	if !f.IsValid() {
		return 0, 0, false
	}
	switch f.Kind() {
	case reflect.String:
		n, _ := fmt.Sscanf(f.String(), "%d.%d", &major, &minor)
		return major, minor, n == 2
	case reflect.Struct:
		maj, mnr := f.FieldByName("Major"), f.FieldByName("Minor")
		if maj.IsValid() && mnr.IsValid() && maj.CanInt() && mnr.CanInt() {
			return int(maj.Int()), int(mnr.Int()), true
		}
	}
	return 0, 0, false
}
