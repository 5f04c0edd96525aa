package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// nsPrefix starts every namespace this package creates: "gvsb-<pid>-<role>".
const nsPrefix = "gvsb-"

// cmdTimeout bounds every helper command that is not a measured workload.
const cmdTimeout = 60 * time.Second

// run runs a command to completion and returns its stdout; the error carries
// the command and its stderr.
func run(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	return runCmd(exec.CommandContext(ctx, name, args...))
}

func runCmd(c *exec.Cmd) (string, error) {
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if len(msg) > 400 {
			msg = msg[:400] + "..."
		}
		return out.String(), fmt.Errorf("%s: %w: %s", shortCmd(c.Args), err, msg)
	}
	return out.String(), nil
}

func shortCmd(args []string) string {
	s := strings.Join(args, " ")
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}

// netNS is a named network namespace (/run/netns/NAME).
type netNS string

func addNS(ctx context.Context, name string) (netNS, error) {
	if _, err := run(ctx, "ip", "netns", "add", name); err != nil {
		return "", err
	}
	ns := netNS(name)
	// No IPv6 at all: no router solicitations, MLD or DAD frames in the counters.
	_, err := ns.run(ctx, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
	if err == nil {
		_, err = ns.ip(ctx, "link", "set", "lo", "up")
	}
	if err != nil {
		delNS(name)
		return "", err
	}
	return ns, nil
}

// delNS deletes a namespace after killing what still runs in it (processes this
// package started there); deleting it destroys its veths.
func delNS(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := run(ctx, "ip", "netns", "pids", name); err == nil {
		for _, f := range strings.Fields(out) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	_, _ = run(ctx, "ip", "netns", "del", name)
}

// cmd is a command run inside the namespace through "ip netns exec", which
// execs it: the child's pid is the program's own.
func (ns netNS) cmd(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", string(ns)}, args...)...)
}

func (ns netNS) run(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	return runCmd(ns.cmd(ctx, args...))
}

// ip runs "ip -n NS args...".
func (ns netNS) ip(ctx context.Context, args ...string) (string, error) {
	return run(ctx, "ip", append([]string{"-n", string(ns)}, args...)...)
}

// ipBatch runs many ip commands in one process (ip -n NS -batch -).
func (ns netNS) ipBatch(ctx context.Context, lines []string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*cmdTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, "ip", "-n", string(ns), "-batch", "-")
	c.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	_, err := runCmd(c)
	return err
}

// linkCounters are a link's packet counters.
type linkCounters struct {
	RxPackets, TxPackets, RxDropped uint64
}

// counters reads dev's counters from /proc/thread-self/net/dev inside the
// namespace: microseconds, so the sender's and receivers' reads are close in time.
func (ns netNS) counters(_ context.Context, dev string) (linkCounters, error) {
	var b []byte
	err := ns.do(func() (err error) {
		b, err = os.ReadFile("/proc/thread-self/net/dev")
		return err
	})
	if err != nil {
		return linkCounters{}, err
	}
	return parseNetDev(b, dev)
}

// parseNetDev finds dev in /proc/net/dev text: "dev: rxbytes rxpackets errs drop
// fifo frame compressed multicast txbytes txpackets ...".
func parseNetDev(b []byte, dev string) (linkCounters, error) {
	for _, l := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(l, ":")
		if !ok || strings.TrimSpace(name) != dev {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 10 {
			break
		}
		var v [10]uint64
		for i := range v {
			x, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				return linkCounters{}, fmt.Errorf("parse net/dev %s: %w", dev, err)
			}
			v[i] = x
		}
		return linkCounters{RxPackets: v[1], RxDropped: v[3], TxPackets: v[9]}, nil
	}
	return linkCounters{}, fmt.Errorf("%s not in net/dev", dev)
}

// waitOperUp polls until the link's operstate is UP: a veth just set up drops
// frames until then.
func (ns netNS) waitOperUp(ctx context.Context, dev string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		out, err := ns.ip(ctx, "-j", "link", "show", "dev", dev)
		if err == nil && strings.Contains(out, `"operstate":"UP"`) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s in %s: not up after %v: %w", dev, ns, timeout, errors.Join(err, context.DeadlineExceeded))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// do runs f on a locked OS thread switched into the namespace. Sockets f opens
// stay in the namespace after it returns and may be used from any goroutine.
func (ns netNS) do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is not unlocked when restoring fails: it then dies with the goroutine.
		orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			errc <- fmt.Errorf("open own netns: %w", err)
			return
		}
		defer orig.Close()
		target, err := os.Open("/run/netns/" + string(ns))
		if err != nil {
			errc <- fmt.Errorf("open netns %s: %w", ns, err)
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		ferr := f()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("setns back: %w", err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// sweepStale deletes namespaces left by earlier runs whose process is gone.
func sweepStale() {
	ents, err := os.ReadDir("/run/netns")
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		rest, ok := strings.CutPrefix(name, nsPrefix)
		if !ok {
			continue
		}
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			delNS(name)
		}
	}
}

// procStat returns the fields of /proc/PID/stat after the parenthesised
// command name (the name may hold spaces): field 3 (state) is [0].
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return strings.Fields(string(b[i+1:])), nil
}

// procCPU returns a process's user+system CPU time (all threads).
func procCPU(pid int) (time.Duration, error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	// utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("parse /proc/%d/stat: short", pid)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat: %w", pid, errors.Join(err1, err2))
	}
	// USER_HZ is 100 on every Linux ABI Go supports.
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// treeCPU returns the CPU time (user and system, /proc/PID/stat) of pid and
// of its live descendants: trafgen may run its sending loop in a child.
// Without IRQ time accounting the system time includes the softirq work
// done in the process's context.
func treeCPU(pid int) (time.Duration, error) {
	total, err := procCPU(pid)
	if err != nil {
		return 0, err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	parents := map[int]bool{pid: true}
	// Children have higher pids than their parents unless pids wrapped;
	// two passes catch grandchildren in the common case.
	for range 2 {
		for _, e := range ents {
			c, err := strconv.Atoi(e.Name())
			if err != nil || parents[c] {
				continue
			}
			if pp, err := procPPID(c); err == nil && parents[pp] {
				parents[c] = true
				if t, err := procCPU(c); err == nil {
					total += t
				}
			}
		}
	}
	return total, nil
}

// procPPID returns pid's parent process id (field 4).
func procPPID(pid int) (int, error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	if len(f) < 2 {
		return 0, fmt.Errorf("parse /proc/%d/stat: short", pid)
	}
	return strconv.Atoi(f[1])
}

// softirqTime returns the machine's total softirq time (all CPUs, /proc/stat).
func softirqTime() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	v, _ := strconv.ParseUint(f[7], 10, 64)
	return time.Duration(v) * 10 * time.Millisecond
}

// proc is a background process this package started.
type proc struct {
	cmd  *exec.Cmd
	done chan error
}

// startProc starts c with stdout and stderr appended to logPath ("" = discarded).
func startProc(c *exec.Cmd, logPath string) (*proc, error) {
	if logPath != "" {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		c.Stdout, c.Stderr = f, f
	}
	// Its own process group, so that stop reaches the children it forks (trafgen's workers).
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", shortCmd(c.Args), err)
	}
	p := &proc{cmd: c, done: make(chan error, 1)}
	go func() { p.done <- c.Wait(); close(p.done) }()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig (SIGTERM if 0) to the process group, waits up to grace for
// the process, then kills the group.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) {
	if p == nil {
		return
	}
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, sig)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	// Children that outlived the leader.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}
