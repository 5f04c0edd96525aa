package testutil

import (
	"testing"
	"time"
)

// Eventually calls cond every interval until it returns true, and fails the
// test (t.Fatalf with msgFmt) if that has not happened within timeout. cond
// is called once more at the deadline, so a slow machine gets its last
// chance. Use it instead of fixed sleeps when waiting for readiness.
func Eventually(t testing.TB, timeout, interval time.Duration, cond func() bool, msgFmt string, args ...any) {
	t.Helper()
	if !Poll(timeout, interval, cond) {
		t.Fatalf("not within %v: "+msgFmt, append([]any{timeout}, args...)...)
	}
}

// Poll calls cond every interval until it returns true (Poll returns true)
// or timeout passes (Poll returns false after one last call).
func Poll(timeout, interval time.Duration, cond func() bool) bool {
	if interval <= 0 {
		interval = 10 * time.Millisecond
	}
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		time.Sleep(min(interval, left))
		if time.Now().After(deadline) {
			return cond()
		}
	}
}

// EventuallyOK calls f every interval until it returns nil, and fails the
// test with msgFmt and f's last error if that has not happened within
// timeout.
func EventuallyOK(t testing.TB, timeout, interval time.Duration, f func() error, msgFmt string, args ...any) {
	t.Helper()
	var last error
	if !Poll(timeout, interval, func() bool { last = f(); return last == nil }) {
		t.Fatalf("not within %v: "+msgFmt+": %v", append(append([]any{timeout}, args...), last)...)
	}
}
