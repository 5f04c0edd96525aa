package ofproto

import (
	"fmt"
	"github.com/gvswitch/gvswitch/datapath"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/datapath/netdev"
	"github.com/gvswitch/gvswitch/datapath/packet"
	"github.com/gvswitch/gvswitch/internal/testutil"
	"github.com/gvswitch/gvswitch/ovsdb/vswitch"
)

type fakePort struct {
	name   string
	closed chan struct{}
	once   sync.Once
}

func (p *fakePort) Name() string { return p.name }
func (p *fakePort) Recv(b *packet.Batch) error {
	<-p.closed
	return netdev.ErrClosed
}
func (p *fakePort) Send(*packet.Batch) error { return nil }
func (p *fakePort) BatchSize() int           { return 32 }
func (p *fakePort) Stats() netdev.Stats      { return netdev.Stats{RxPackets: 1} }
func (p *fakePort) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

// fakeDP is a Datapath and Opener in memory; system devices exist when
// listed in devs.
type fakeDP struct {
	mu       sync.Mutex
	ports    map[uint32]string
	devs     map[string]bool
	next     uint32
	adds     int // AddPort calls
	policing map[uint32]datapath.Policing
}

func newFakeDP(devs ...string) *fakeDP {
	f := &fakeDP{ports: map[uint32]string{}, devs: map[string]bool{}, next: 1}
	for _, d := range devs {
		f.devs[d] = true
	}
	return f
}

func (f *fakeDP) AddPort(name string, _ netdev.Port, want uint32) (uint32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.adds++
	no := want
	if no == 0 {
		no = f.next
		f.next++
	}
	if _, ok := f.ports[no]; ok {
		return 0, fmt.Errorf("port %d exists", no)
	}
	f.ports[no] = name
	return no, nil
}

func (f *fakeDP) SetIngressPolicing(no uint32, pol datapath.Policing) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.policing == nil {
		f.policing = map[uint32]datapath.Policing{}
	}
	f.policing[no] = pol
	return nil
}

func (f *fakeDP) policingOf(name string) datapath.Policing {
	f.mu.Lock()
	defer f.mu.Unlock()
	for no, n := range f.ports {
		if n == name {
			return f.policing[no]
		}
	}
	return datapath.Policing{}
}

func (f *fakeDP) DelPort(no uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.ports, no)
	return nil
}

func (f *fakeDP) Open(name, typ string) (netdev.Port, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if typ == "" && !f.devs[name] {
		return nil, fmt.Errorf("open %s: %w", name, syscall.ENODEV)
	}
	return &fakePort{name: name, closed: make(chan struct{})}, nil
}

func (f *fakeDP) setDev(name string, present bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.devs[name] = present
}

// fakeLinks is a LinkSource whose events the test sends.
type fakeLinks struct {
	mu sync.Mutex
	fn func(string, LinkInfo, bool)
}

func (l *fakeLinks) Get(name string) (LinkInfo, error) {
	return LinkInfo{IfIndex: 100, MAC: "02:00:00:00:00:01", MTU: 1500, AdminUp: true, LinkUp: true}, nil
}

func (l *fakeLinks) SetMTU(string, int) error { return nil }

func (l *fakeLinks) Subscribe(fn func(string, LinkInfo, bool)) func() {
	l.mu.Lock()
	l.fn = fn
	l.mu.Unlock()
	return func() {}
}

func (l *fakeLinks) send(name string, deleted bool) { l.sendIndex(name, 100, deleted) }

// sendIndex sends an event about the device with ifindex idx (Get always
// reports 100, the current device).
func (l *fakeLinks) sendIndex(name string, idx int, deleted bool) {
	l.mu.Lock()
	fn := l.fn
	l.mu.Unlock()
	fn(name, LinkInfo{IfIndex: idx, MAC: "02:00:00:00:00:02", MTU: 1500, AdminUp: true, LinkUp: true}, deleted)
}

// startOVSDBServer runs Debian's ovsdb-server on a fresh database in a temp
// dir and returns the "unix:" remote.
func startOVSDBServer(t testing.TB) (dir, remote string) {
	t.Helper()
	tool := testutil.RequireBinary(t, "ovsdb-tool")
	dir = t.TempDir()
	schema := filepath.Join(dir, "vswitch.ovsschema")
	if err := os.WriteFile(schema, []byte(vswitch.SchemaJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tool, "create", filepath.Join(dir, "conf.db"), schema).CombinedOutput(); err != nil {
		t.Fatalf("ovsdb-tool create: %v: %s", err, out)
	}
	runOVSDBServer(t, dir)
	return dir, "unix:" + filepath.Join(dir, "db.sock")
}

// runOVSDBServer starts ovsdb-server on dir/conf.db and dir/db.sock and
// returns a function that kills it (also called at cleanup).
func runOVSDBServer(t testing.TB, dir string) (kill func()) {
	t.Helper()
	server := testutil.RequireBinary(t, "ovsdb-server")
	sock := filepath.Join(dir, "db.sock")
	_ = os.Remove(sock)
	cmd := exec.Command(server, filepath.Join(dir, "conf.db"), "--remote=punix:"+sock, "--unixctl="+filepath.Join(dir, "ovsdb-server.ctl"),
		"--log-file="+filepath.Join(dir, "ovsdb-server.log"), "-vconsole:off", "--no-chdir")
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+dir, "OVS_DBDIR="+dir, "OVS_LOGDIR="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	kill = func() { once.Do(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) }
	t.Cleanup(kill)
	testutil.Eventually(t, 10*time.Second, 10*time.Millisecond, func() bool {
		_, err := os.Stat(sock)
		return err == nil
	}, "ovsdb-server socket %s", sock)
	return kill
}

// vsctl runs Debian's ovs-vsctl against remote with a 5 s timeout.
func vsctl(t testing.TB, remote string, args ...string) (string, string) {
	t.Helper()
	bin := testutil.RequireBinary(t, "ovs-vsctl")
	cmd := exec.Command(bin, append([]string{"--db=" + remote, "--timeout=5"}, args...)...)
	var stdout, stderr sliceWriter
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ovs-vsctl %v: %v: %s", args, err, stderr)
	}
	return string(stdout), string(stderr)
}

type sliceWriter []byte

func (w *sliceWriter) Write(b []byte) (int, error) { *w = append(*w, b...); return len(b), nil }
