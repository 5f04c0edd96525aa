package testutil

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// LeakGrace is how long VerifyNoLeaks waits for goroutines and file
// descriptors to go away before calling them leaked.
const LeakGrace = 5 * time.Second

// VerifyNoLeaks runs the tests and exits the process. Use it as
//
//	func TestMain(m *testing.M) { testutil.VerifyNoLeaks(m) }
//
// After the tests pass it checks that no goroutines beyond those present
// before m.Run remain, and that the number of open file descriptors has not
// grown, allowing LeakGrace for things to shut down. A leak makes the run
// fail and prints the leaked goroutines' stacks.
func VerifyNoLeaks(m *testing.M) {
	os.Exit(runVerifyNoLeaks(m))
}

func runVerifyNoLeaks(m *testing.M) int {
	g0 := runtime.NumGoroutine()
	fd0 := openFDs()
	code := m.Run()
	if code != 0 || fuzzing() {
		// The fuzzing engine keeps goroutines and pipes of its own alive past
		// m.Run; leaks are checked by the ordinary test runs.
		return code
	}
	if err := CheckGoroutines(g0, LeakGrace); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		return 1
	}
	if fd0 != nil {
		var leaked []string
		ok := Poll(LeakGrace, 20*time.Millisecond, func() bool {
			leaked = newFDs(fd0, openFDs())
			return len(leaked) == 0
		})
		if !ok {
			fmt.Fprintf(os.Stderr, "FAIL: file descriptors leaked:\n  %s\n", strings.Join(leaked, "\n  "))
			return 1
		}
	}
	return 0
}

// CheckGoroutines waits up to grace for the number of goroutines to drop to
// at most base, and returns an error with all stacks if it does not.
func CheckGoroutines(base int, grace time.Duration) error {
	var n int
	if Poll(grace, 20*time.Millisecond, func() bool {
		n = runtime.NumGoroutine()
		return n <= base
	}) {
		return nil
	}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return fmt.Errorf("goroutines leaked: %d before, %d after %v:\n%s", base, n, grace, buf)
}

// NoGoroutineLeaks records the goroutine count now and, in t.Cleanup,
// fails the test if more remain after LeakGrace. Tests using it must not
// run in parallel with others (t.Parallel), which would skew the count.
func NoGoroutineLeaks(t testing.TB) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		if err := CheckGoroutines(base, LeakGrace); err != nil {
			t.Error(err)
		}
	})
}

// openFDs maps this process's open descriptors to their targets, or
// returns nil when /proc is unavailable.
func openFDs() map[string]string {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	fds := make(map[string]string, len(ents))
	for _, e := range ents {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err == nil { // the ReadDir descriptor itself is gone by now
			fds[e.Name()] = target
		}
	}
	return fds
}

// newFDs lists descriptors in after that are not in before, except the Go
// runtime's own, which appear lazily (netpoller, /dev/null for os/exec).
func newFDs(before, after map[string]string) []string {
	var leaked []string
	for fd, target := range after {
		if before[fd] == target {
			continue
		}
		switch target {
		case "anon_inode:[eventpoll]", "anon_inode:[eventfd]", "/dev/null":
			continue
		}
		leaked = append(leaked, "fd "+fd+" -> "+target)
	}
	return leaked
}

// fuzzing reports whether the test binary runs a fuzz target (-test.fuzz).
func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}
