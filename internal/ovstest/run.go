package ovstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// DefaultTimeout bounds every command Run starts, so that a client waiting
// for a daemon that never answers fails the test instead of hanging it.
const DefaultTimeout = 20 * time.Second

// ErrTimeout is wrapped by Exec's error when a command ran out of time.
var ErrTimeout = errors.New("command timed out")

// Cmd describes one command for Exec and RunCmd.
type Cmd struct {
	Bin  string
	Args []string
	// Env is added to the test process's environment (later entries win),
	// e.g. "OVS_RUNDIR=/tmp/x"; Server.Env gives a server's set.
	Env   []string
	Stdin string
	// Timeout defaults to DefaultTimeout.
	Timeout time.Duration
}

// String returns the command line.
func (c Cmd) String() string {
	return strings.TrimSpace(c.Bin + " " + strings.Join(c.Args, " "))
}

// Result is what a finished command left behind.
type Result struct {
	Cmd    string
	Stdout string
	Stderr string
	// ExitCode is the exit status, or -1 when a signal ended the command.
	ExitCode int
	// Signal is the signal that ended the command, or 0.
	Signal syscall.Signal
}

// OK reports whether the command exited with status 0.
func (r Result) OK() bool { return r.ExitCode == 0 && r.Signal == 0 }

// String summarises the result for test failure messages.
func (r Result) String() string {
	status := fmt.Sprintf("exit %d", r.ExitCode)
	if r.Signal != 0 {
		status = "signal " + r.Signal.String()
	}
	return fmt.Sprintf("%s: %s\nstdout:\n%s\nstderr:\n%s", r.Cmd, status, r.Stdout, r.Stderr)
}

// Check fails the test unless the command succeeded, and returns its
// standard output.
func (r Result) Check(t testing.TB) string {
	t.Helper()
	if !r.OK() {
		t.Fatalf("%v", r)
	}
	return r.Stdout
}

// Exec runs c and returns its result. The error is non-nil only when the
// command could not run or was stopped by ctx or its timeout (wrapping
// ErrTimeout); a non-zero exit is reported in the Result, not as an error.
func Exec(ctx context.Context, c Cmd) (Result, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Bin, c.Args...)
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Stdin = strings.NewReader(c.Stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	r := Result{Cmd: c.String(), Stdout: stdout.String(), Stderr: stderr.String()}
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return r, fmt.Errorf("%s: %w after %v", r.Cmd, ErrTimeout, timeout)
		}
		return r, fmt.Errorf("%s: %w", r.Cmd, ctx.Err())
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.ExitCode = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.Signal = ws.Signal()
		}
	default:
		return r, fmt.Errorf("run %s: %w", r.Cmd, err)
	}
	return r, nil
}

// RunCmd runs c and fails the test if it could not run or timed out. A
// non-zero exit is returned, not a failure: use Result.Check for that.
func RunCmd(t testing.TB, c Cmd) Result {
	t.Helper()
	r, err := Exec(context.Background(), c)
	if err != nil {
		t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, r.Stdout, r.Stderr)
	}
	return r
}

// Run runs bin with args (see RunCmd).
func Run(t testing.TB, bin string, args ...string) Result {
	t.Helper()
	return RunCmd(t, Cmd{Bin: bin, Args: args})
}

// Vsctl runs ovs-vsctl against the database at sock ("unix:PATH").
// Callers add --no-wait unless something (a gvswitchd or a CurCfgBumper)
// acknowledges configuration changes.
func Vsctl(t testing.TB, sock string, args ...string) Result {
	t.Helper()
	b := FindBinaries(t)
	return Run(t, b.Vsctl, append([]string{"--db=" + sock}, args...)...)
}

// OvsdbClient runs ovsdb-client; the server address is one of args, as
// ovsdb-client expects ("list-dbs", "unix:PATH").
func OvsdbClient(t testing.TB, args ...string) Result {
	t.Helper()
	return Run(t, FindBinaries(t).OvsdbClient, args...)
}

// OvsdbTool runs ovsdb-tool.
func OvsdbTool(t testing.TB, args ...string) Result {
	t.Helper()
	return Run(t, FindBinaries(t).OvsdbTool, args...)
}

// Appctl runs ovs-appctl -t target (a control socket path or pidfile).
func Appctl(t testing.TB, target string, args ...string) Result {
	t.Helper()
	return Run(t, FindBinaries(t).Appctl, append([]string{"-t", target}, args...)...)
}

// Ofctl runs ovs-ofctl.
func Ofctl(t testing.TB, args ...string) Result {
	t.Helper()
	return Run(t, FindBinaries(t).Ofctl, args...)
}
