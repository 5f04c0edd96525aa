package server_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/testutil"
)

// childServer is our server running in a child process.
type childServer struct {
	Sock string // "unix:" + socket path
	Pid  int
}

// startChild starts our server (internal/benchserver, which links only the
// database server, as `gvswitchd --no-vswitchd` would run it) in a child
// process on a new persistent database initialised with ovs-vsctl init,
// and stops it when b ends. Benchmarks run it as Debian's ovsdb-server
// runs, so that CPU time and memory are measured per process and the
// benchmark's own clients do not share the server's Go runtime.
func startChild(b testing.TB) *childServer {
	b.Helper()
	dir, err := os.MkdirTemp("", "gvs-child")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	// GVS_OVSDB_BENCH_SERVER names a prebuilt benchserver binary, so that
	// two builds can be compared in alternating runs.
	bin := os.Getenv("GVS_OVSDB_BENCH_SERVER")
	if bin == "" {
		bin = filepath.Join(dir, "benchserver")
		if out, err := exec.Command("go", "build", "-o", bin,
			"github.com/gvswitch/gvswitch/ovsdb/server/internal/benchserver").CombinedOutput(); err != nil {
			b.Fatalf("build benchserver: %v\n%s", err, out)
		}
	}
	cmd := exec.Command(bin, dir)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		b.Fatalf("start child server: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	sock := filepath.Join(dir, "db.sock")
	if !testutil.Poll(15*time.Second, 10*time.Millisecond, func() bool {
		c, err := net.Dial("unix", sock)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}) {
		b.Fatalf("child server socket %s not ready", sock)
	}
	cs := &childServer{Sock: "unix:" + sock, Pid: cmd.Process.Pid}
	ovsVsctl(b, cs.Sock, "--no-wait", "init")
	return cs
}

// procCPU returns the user+system CPU time process pid has used so far.
func procCPU(b testing.TB, pid int) time.Duration {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatalf("cpu time: %v", err)
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 of the whole line, in clock ticks (USER_HZ, 100).
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// procRSS returns the resident set size of process pid in bytes.
func procRSS(b testing.TB, pid int) int64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatalf("rss: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	b.Fatalf("rss: no VmRSS for %d", pid)
	return 0
}
