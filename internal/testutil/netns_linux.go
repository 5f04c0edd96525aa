package testutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// netnsDir is where iproute2 (and NewNetNS) keeps named namespaces.
const netnsDir = "/run/netns"

// nsPrefix starts every namespace name NewNetNS creates: "gvs-<pid>-<hex>".
const nsPrefix = "gvs-"

// RunTimeout bounds commands started by NetNS.Run, so a hung tool fails the
// test instead of hanging it.
const RunTimeout = 30 * time.Second

// NetNS is a named network namespace owned by one test. A nil *NetNS stands
// for the namespace the test process started in (the "root" namespace):
// its methods then run commands and code there directly.
type NetNS struct {
	// Name is the namespace name, as `ip netns` shows it.
	Name string
	// Path is the bind-mounted namespace file, /run/netns/NAME.
	Path string

	ip string // path of the ip binary
}

// NewNetNS creates a network namespace with a unique name, brings its
// loopback up, and deletes it in t.Cleanup. It requires root and the ip
// binary (iproute2); otherwise it skips (fails in CI).
func NewNetNS(t testing.TB) *NetNS {
	t.Helper()
	RequireCap(t, CapSysAdmin)
	ip := RequireBinary(t, "ip")
	sweepStaleNetNS(ip)
	name := fmt.Sprintf("%s%d-%08x", nsPrefix, os.Getpid(), rand.Uint32())
	if out, err := exec.Command(ip, "netns", "add", name).CombinedOutput(); err != nil {
		Require(t, false, "cannot create network namespace (ip netns add %s): %v: %s", name, err, bytes.TrimSpace(out))
	}
	ns := &NetNS{Name: name, Path: filepath.Join(netnsDir, name), ip: ip}
	t.Cleanup(func() {
		if err := ns.delete(); err != nil {
			t.Errorf("delete netns %s: %v", name, err)
		}
	})
	if err := ns.withHandle(func(h *netlink.Handle) error {
		lo, err := h.LinkByName("lo")
		if err != nil {
			return err
		}
		return h.LinkSetUp(lo)
	}); err != nil {
		t.Fatalf("netns %s: set lo up: %v", name, err)
	}
	return ns
}

// String returns the namespace name, or "root" for a nil NetNS.
func (ns *NetNS) String() string {
	if ns == nil {
		return "root"
	}
	return ns.Name
}

func (ns *NetNS) delete() error {
	out, err := exec.Command(ns.ip, "netns", "delete", ns.Name).CombinedOutput()
	if err != nil {
		if _, serr := os.Stat(ns.Path); errors.Is(serr, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("%w: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// sweepStaleNetNS deletes namespaces that an earlier, killed test process
// created (their pid no longer exists). Errors are ignored: this is hygiene.
func sweepStaleNetNS(ip string) {
	ents, err := os.ReadDir(netnsDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), nsPrefix)
		if !ok {
			continue
		}
		pidStr, _, ok := strings.Cut(rest, "-")
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = exec.Command(ip, "netns", "delete", e.Name()).Run()
		}
	}
}

// Command returns an unstarted command that runs args inside the namespace
// (through `ip netns exec`, which also gives it a matching /sys).
func (ns *NetNS) Command(ctx context.Context, args ...string) *exec.Cmd {
	if len(args) == 0 {
		args = []string{"true"}
	}
	if ns == nil {
		return exec.CommandContext(ctx, args[0], args[1:]...)
	}
	return exec.CommandContext(ctx, ns.ip, append([]string{"netns", "exec", ns.Name}, args...)...)
}

// Exec runs args inside the namespace and returns its output. err is non-nil
// when the command could not start, failed or was stopped by ctx; stdout and
// stderr are returned in every case.
func (ns *NetNS) Exec(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	cmd := ns.Command(ctx, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s in netns %s: %w", strings.Join(args, " "), ns, err)
	}
	return o.String(), e.String(), err
}

// Run runs args inside the namespace with a RunTimeout limit, fails the
// test if the command fails, and returns its standard output.
func (ns *NetNS) Run(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), RunTimeout)
	defer cancel()
	stdout, stderr, err := ns.Exec(ctx, args...)
	if err != nil {
		t.Fatalf("%v\nstdout: %s\nstderr: %s", err, stdout, stderr)
	}
	return stdout
}

// Start starts args inside the namespace in the background, with output
// going to the test log when the test fails. The process is killed and
// reaped in t.Cleanup.
func (ns *NetNS) Start(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := ns.Command(ctx, args...)
	out := &lockedWriter{w: new(bytes.Buffer)}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s in netns %s: %v", strings.Join(args, " "), ns, err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("output of %s in netns %s:\n%s", strings.Join(args, " "), ns, out.String())
		}
	})
	return cmd
}

// Do runs f on an OS thread that has entered the namespace, and returns
// f's error. Goroutines that f starts do not inherit the namespace, and f
// must not call t.FailNow (it runs on another goroutine). A panic in f is
// re-raised in the caller. For a nil NetNS, f runs directly.
func (ns *NetNS) Do(f func() error) error {
	if ns == nil {
		return f()
	}
	type result struct {
		err   error
		panic any
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("get current netns: %w", err)}
			return
		}
		defer orig.Close()
		target, err := netns.GetFromPath(ns.Path)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("open netns %s: %w", ns.Name, err)}
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("enter netns %s: %w", ns.Name, err)}
			return
		}
		var r result
		func() {
			defer func() { r.panic = recover() }()
			r.err = f()
		}()
		if err := netns.Set(orig); err != nil {
			// Leave the thread locked: Go discards it when this goroutine ends.
			done <- result{err: fmt.Errorf("leave netns %s: %w", ns.Name, err), panic: r.panic}
			return
		}
		runtime.UnlockOSThread()
		done <- r
	}()
	r := <-done
	if r.panic != nil {
		panic(r.panic)
	}
	return r.err
}

// Handle returns a netlink handle that works inside the namespace; the
// caller closes it. For a nil NetNS it is a handle in the root namespace.
func (ns *NetNS) Handle() (*netlink.Handle, error) {
	if ns == nil {
		return netlink.NewHandle()
	}
	h, err := netns.GetFromPath(ns.Path)
	if err != nil {
		return nil, fmt.Errorf("open netns %s: %w", ns.Name, err)
	}
	defer h.Close()
	nh, err := netlink.NewHandleAt(h)
	if err != nil {
		return nil, fmt.Errorf("netlink handle in netns %s: %w", ns.Name, err)
	}
	return nh, nil
}

func (ns *NetNS) withHandle(f func(h *netlink.Handle) error) error {
	h, err := ns.Handle()
	if err != nil {
		return err
	}
	defer h.Close()
	return f(h)
}

// fd opens the namespace file (root: /proc/self/ns/net); the caller closes it.
func (ns *NetNS) fd() (netns.NsHandle, error) {
	if ns == nil {
		return netns.GetFromPath("/proc/self/ns/net")
	}
	return netns.GetFromPath(ns.Path)
}

// Sysctl writes value to a sysctl inside the namespace. key is either
// dotted ("net.ipv4.ip_forward") or, for names that contain dots such as
// VLAN devices, slashed ("net/ipv6/conf/eth0.10/disable_ipv6").
func (ns *NetNS) Sysctl(key, value string) error {
	if !strings.Contains(key, "/") {
		key = strings.ReplaceAll(key, ".", "/")
	}
	p := filepath.Join("/proc/sys", key)
	return ns.Do(func() error {
		return os.WriteFile(p, []byte(value), 0)
	})
}
