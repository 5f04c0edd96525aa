package testutil_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/datapath/netdev"
	"github.com/gvswitch/gvswitch/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyNoLeaks(m) }

func TestPoll(t *testing.T) {
	n := 0
	if !testutil.Poll(time.Second, time.Millisecond, func() bool { n++; return n == 3 }) {
		t.Fatal("Poll gave up on a condition that became true")
	}
	start := time.Now()
	if testutil.Poll(30*time.Millisecond, 10*time.Millisecond, func() bool { return false }) {
		t.Fatal("Poll returned true for a false condition")
	}
	if d := time.Since(start); d < 30*time.Millisecond || d > time.Second {
		t.Fatalf("Poll returned after %v, want about 30ms", d)
	}
}

func TestRequireBinary(t *testing.T) {
	if p := testutil.RequireBinary(t, "sh"); !strings.HasSuffix(p, "/sh") {
		t.Fatalf("RequireBinary(sh) = %q", p)
	}
	if _, err := testutil.LookBinary("gvs-no-such-binary"); err == nil {
		t.Fatal("LookBinary found a binary that does not exist")
	}
}

type minKernelErr struct{ maj, min int }

func (e minKernelErr) Error() string                 { return fmt.Sprintf("feature x needs %d.%d", e.maj, e.min) }
func (e minKernelErr) Is(target error) bool          { return target == netdev.ErrNotSupported }
func (e minKernelErr) MinKernel() (major, minor int) { return e.maj, e.min }

// fieldErr has the UnsupportedFeatureError{Name, MinKernel} shape.
type fieldErr struct{ Name, MinKernel string }

func (e fieldErr) Error() string        { return e.Name + " needs linux " + e.MinKernel }
func (e fieldErr) Is(target error) bool { return target == netdev.ErrNotSupported }

func TestSkipIfNotSupported(t *testing.T) {
	t.Setenv("CI", "")
	tests := []struct {
		name            string
		err             error
		skipped, failed bool
	}{
		{"nil", nil, false, false},
		{"other", errors.New("boom"), false, false},
		{"wrapped", fmt.Errorf("afxdp zero-copy: %w", netdev.ErrNotSupported), true, false},
		{"bare", netdev.ErrNotSupported, false, true},
		{"kernel too old", minKernelErr{99, 0}, true, false},
		{"kernel new enough", minKernelErr{2, 6}, false, true},
		{"field, kernel too old", fmt.Errorf("open: %w", &fieldErr{Name: "x", MinKernel: "99.1"}), true, false},
		{"field, kernel new enough", fmt.Errorf("open: %w", &fieldErr{Name: "x", MinKernel: "3.0"}), false, true},
		{"joined", errors.Join(errors.New("a"), fieldErr{Name: "x", MinKernel: "3.0"}), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			skipped, failed := runFake(func(tb testing.TB) { testutil.SkipIfNotSupported(tb, tt.err) })
			if skipped != tt.skipped || failed != tt.failed {
				t.Fatalf("skipped=%v failed=%v, want %v %v", skipped, failed, tt.skipped, tt.failed)
			}
		})
	}
}

func TestRequireInCI(t *testing.T) {
	t.Setenv("CI", "true")
	if !testutil.InCI() {
		t.Fatal("InCI() = false with CI=true")
	}
	skipped, failed := runFake(func(tb testing.TB) { testutil.Require(tb, false, "missing %s", "thing") })
	if skipped || !failed {
		t.Fatalf("in CI: skipped=%v failed=%v, want a failure", skipped, failed)
	}
	t.Setenv("CI", "")
	skipped, failed = runFake(func(tb testing.TB) { testutil.Require(tb, false, "missing %s", "thing") })
	if !skipped || failed {
		t.Fatalf("outside CI: skipped=%v failed=%v, want a skip", skipped, failed)
	}
}

// fakeTB records Skip and Fatal calls; both stop the calling goroutine.
type fakeTB struct {
	testing.TB
	skipped, failed bool
}

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Skipf(string, ...any)  { f.skipped = true; panic(f) }
func (f *fakeTB) Fatalf(string, ...any) { f.failed = true; panic(f) }
func (f *fakeTB) Fatal(...any)          { f.failed = true; panic(f) }
func (f *fakeTB) Logf(string, ...any)   {}
func (f *fakeTB) Errorf(string, ...any) { f.failed = true }

func runFake(fn func(testing.TB)) (skipped, failed bool) {
	f := &fakeTB{}
	func() {
		defer func() {
			if r := recover(); r != nil && r != f {
				panic(r)
			}
		}()
		fn(f)
	}()
	return f.skipped, f.failed
}

func TestEventuallyOK(t *testing.T) {
	n := 0
	testutil.EventuallyOK(t, time.Second, time.Millisecond, func() error {
		if n++; n < 3 {
			return errors.New("not yet")
		}
		return nil
	}, "counter")
	f := &fakeTB{}
	var msg string
	func() {
		defer func() { _ = recover() }()
		testutil.EventuallyOK(&msgTB{fakeTB: f, msg: &msg}, 20*time.Millisecond, 5*time.Millisecond,
			func() error { return errors.New("still down") }, "link %s", "eth0")
	}()
	if !f.failed || !strings.Contains(msg, "link eth0: still down") {
		t.Fatalf("failed=%v message %q", f.failed, msg)
	}
}

type msgTB struct {
	*fakeTB
	msg *string
}

func (m *msgTB) Fatalf(format string, args ...any) {
	*m.msg = fmt.Sprintf(format, args...)
	m.fakeTB.Fatalf(format, args...)
}

func TestCheckGoroutines(t *testing.T) {
	base := runtime.NumGoroutine()
	stop := make(chan struct{})
	go func() { <-stop }()
	err := testutil.CheckGoroutines(base, 30*time.Millisecond)
	close(stop)
	if err == nil || !strings.Contains(err.Error(), "goroutines leaked") {
		t.Fatalf("leak not reported: %v", err)
	}
	if err := testutil.CheckGoroutines(base, time.Second); err != nil {
		t.Fatal(err)
	}
}
