package daemon

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
)

// detachEnv marks the re-executed child of Detach.
const detachEnv = "GVS_DETACHED_CHILD"

// readyFD is the descriptor the detached child reports readiness on
// (the first ExtraFiles entry).
const readyFD = 3

// Detach implements --detach. Go cannot fork safely, so instead of OVS's
// fork() the parent re-executes itself in a new session with stdio on
// /dev/null and waits until the child calls Ready (exit 0) or exits (exit 1).
// In the child Detach returns normally; in the parent it never returns.
func Detach() error {
	if os.Getenv(detachEnv) == "1" {
		return nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("detach: %w", err)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("detach: %w", err)
	}
	// Re-execute through the name we were started by (not the resolved
	// executable), so that a symlink personality such as ovs-vswitchd keeps
	// its argv[0] and /proc/PID/comm.
	exe := os.Args[0]
	if !strings.Contains(exe, "/") {
		exe, err = exec.LookPath(exe)
	}
	if err != nil || exe == "" {
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("detach: %w", err)
		}
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = append(os.Environ(), detachEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("detach: start child: %w", err)
	}
	_ = w.Close()
	buf := make([]byte, 1)
	n, _ := io.ReadFull(r, buf)
	if n == 1 {
		os.Exit(0)
	}
	_ = cmd.Wait()
	fmt.Fprintf(os.Stderr, "%s: child exited before becoming ready\n", os.Args[0])
	os.Exit(1)
	return nil
}

// Detached reports whether this process is the child started by Detach.
func Detached() bool { return os.Getenv(detachEnv) == "1" }

// Ready tells a waiting Detach parent that the daemon is serving. It is a
// no-op when the process was not detached.
func Ready() {
	if !Detached() {
		return
	}
	f := os.NewFile(readyFD, "ready")
	if f == nil {
		return
	}
	_, _ = f.Write([]byte{1})
	_ = f.Close()
	_ = os.Unsetenv(detachEnv)
}

// HandleSignals calls onTerm once on SIGTERM or SIGINT and onHup on every
// SIGHUP, from one goroutine, until the returned stop function is called.
func HandleSignals(onTerm, onHup func()) (stop func()) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		termed := false
		for {
			select {
			case <-done:
				return
			case s := <-ch:
				if s == syscall.SIGHUP {
					if onHup != nil {
						onHup()
					}
					continue
				}
				if !termed && onTerm != nil {
					termed = true
					onTerm()
				}
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		select {
		case <-done:
		default:
			close(done)
		}
		<-finished
	}
}

// MkdirAll creates dir (0755) when missing, for rundir/logdir/dbdir.
func MkdirAll(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return nil
}
