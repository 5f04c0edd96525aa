package afpacket_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/gvswitch/gvswitch/datapath/netdev"
	"github.com/gvswitch/gvswitch/datapath/netdev/afpacket"
	"github.com/gvswitch/gvswitch/datapath/netdev/internal/nettest"
	"github.com/gvswitch/gvswitch/datapath/offload"
	"github.com/gvswitch/gvswitch/datapath/packet"
	"github.com/gvswitch/gvswitch/internal/testutil"
)

// testEtherType is IEEE's local experimental EtherType 1, so test frames
// never look like anything the kernel answers.
const testEtherType = 0x88b5

// rig is a switch namespace holding the port end of a veth pair whose other
// end, "eth0", is in a host namespace.
type rig struct {
	sw, host *nettest.NS
	portName string
	// procNS: sw is the namespace of the process's threads, so a lazy
	// port needs no spare sockets made at open.
	procNS bool
}

// rigInProcNS makes newRig(t, nil, ...) put the port in the namespace of
// the test process's threads, as gvswitchd's ports are (lazy ports then
// make their handover sockets on the builder goroutine), instead of a
// new namespace (lazy ports then need Options.SparesAtOpen).
var rigInProcNS bool

func newRig(t testing.TB, sw *nettest.NS, hostAddr string) *rig {
	t.Helper()
	procNS := false
	if sw == nil && rigInProcNS {
		sw, procNS = procNSOf(t), true
	}
	if sw == nil {
		sw = nettest.NewNS(t)
	}
	r := &rig{sw: sw, host: nettest.NewNS(t), portName: "p" + nettest.Suffix(), procNS: procNS}
	nettest.Veth(t, sw, r.portName, r.host, "eth0")
	if hostAddr != "" {
		r.host.AddAddr(t, "eth0", hostAddr)
	}
	return r
}

func (r *rig) open(t testing.TB, opts afpacket.Options) *afpacket.Port {
	t.Helper()
	var p *afpacket.Port
	// A port in another namespace than the builder goroutine's thread
	// needs its handover sockets made by Open, on the switched thread.
	opts.SparesAtOpen = opts.SparesAtOpen || !r.procNS
	r.sw.Do(t, func() (err error) {
		p, err = afpacket.Open(r.portName, opts)
		return err
	})
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// procNSOf returns the namespace the test process's threads are in (the
// veth end made there goes with its peer's namespace at cleanup).
func procNSOf(t testing.TB) *nettest.NS {
	t.Helper()
	nettest.RequireRoot(t)
	// An unlocked goroutine's thread is in the process's namespace: a
	// locked goroutine that switched its thread takes the thread with it.
	runtime.LockOSThread()
	h, err := netns.Get()
	runtime.UnlockOSThread()
	if err != nil {
		t.Fatalf("process netns: %v", err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return &nettest.NS{Name: "(process)", Handle: h}
}

func testFrame(dst net.HardwareAddr, vlan int, seq int, size int) []byte {
	f := make([]byte, 0, size+4)
	f = append(f, dst...)
	f = append(f, 0x02, 0xaa, 0, 0, 0, 1)
	if vlan >= 0 {
		f = binary.BigEndian.AppendUint16(f, 0x8100)
		f = binary.BigEndian.AppendUint16(f, uint16(5<<13|vlan))
	}
	f = binary.BigEndian.AppendUint16(f, testEtherType)
	f = binary.BigEndian.AppendUint32(f, uint32(seq))
	for len(f) < size {
		f = append(f, byte(len(f)))
	}
	return f
}

var broadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// recvMatch calls Recv until a frame equal to want arrives.
func recvMatch(t *testing.T, p *afpacket.Port, want []byte) *packet.Packet {
	t.Helper()
	var b packet.Batch
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if err := p.Recv(&b); err != nil {
			t.Fatalf("Recv: %v", err)
		}
		for _, pkt := range b.Packets() {
			if bytes.Equal(pkt.Data(), want) {
				return pkt
			}
		}
	}
	t.Fatalf("frame % x not received", want[:18])
	return nil
}

var modes = []afpacket.RxMode{afpacket.RxFrameRing, afpacket.RxRing, afpacket.RxMmsg}

func TestRecv(t *testing.T) {
	for _, m := range modes {
		t.Run(m.String(), func(t *testing.T) { testRecv(t, m) })
	}
}

// TestRecvSmallFrames makes every frame but the smallest too large for a
// frame-ring frame, so they take the socket-queue path (TP_STATUS_COPY).
func TestRecvSmallFrames(t *testing.T) {
	testRecvOpts(t, afpacket.Options{RxMode: afpacket.RxFrameRing, FrameSize: 1024, FrameCount: 8})
}

func TestRecvDefault(t *testing.T) {
	r := newRig(t, nil, "")
	if p := r.open(t, afpacket.Options{}); p.RxMode() != afpacket.RxFrameRing {
		t.Fatalf("default RxMode %v, want %v", p.RxMode(), afpacket.RxFrameRing)
	}
}

// TestDefaultFallback: when the kernel refuses the frame ring, the default
// mode falls back to recvmmsg, and an explicit RxFrameRing fails.
func TestDefaultFallback(t *testing.T) {
	defer afpacket.SetFailFrameRing(afpacket.SetFailFrameRing(unix.ENOMEM))
	r := newRig(t, nil, "")
	var err error
	r.sw.Do(t, func() error {
		_, err = afpacket.Open(r.portName, afpacket.Options{RxMode: afpacket.RxFrameRing})
		return nil
	})
	if !errors.Is(err, unix.ENOMEM) {
		t.Fatalf("explicit frame ring: %v, want ENOMEM", err)
	}
	p := r.open(t, afpacket.Options{})
	if p.RxMode() != afpacket.RxMmsg {
		t.Fatalf("fallback RxMode %v, want %v", p.RxMode(), afpacket.RxMmsg)
	}
	raw := r.host.OpenRaw(t, "eth0")
	want := testFrame(broadcast, 7, 1, 100)
	if err := raw.Send(want); err != nil {
		t.Fatal(err)
	}
	recvMatch(t, p, want)
}

func testRecv(t *testing.T, mode afpacket.RxMode) {
	testRecvOpts(t, afpacket.Options{RxMode: mode})
}

func testRecvOpts(t *testing.T, opts afpacket.Options) {
	mode := opts.RxMode
	r := newRig(t, nil, "")
	p := r.open(t, opts)
	if p.RxMode() != mode || p.OffloadErr() != nil || p.Caps() != offload.CapsAll {
		t.Fatalf("RxMode %v (want %v), OffloadErr %v, Caps %v", p.RxMode(), mode, p.OffloadErr(), p.Caps())
	}
	if !p.VnetHdr() || p.MTU() != 1500 {
		t.Fatalf("VnetHdr %v MTU %d, want true 1500", p.VnetHdr(), p.MTU())
	}
	raw := r.host.OpenRaw(t, "eth0")
	tests := []struct {
		name string
		vlan int
		size int
	}{
		{"min", -1, 60},
		{"mtu", -1, 1514},
		{"vlan", 42, 64},
		{"vlan0", 0, 1518},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := testFrame(broadcast, tt.vlan, i, tt.size)
			if err := raw.Send(want); err != nil {
				t.Fatalf("raw send: %v", err)
			}
			pkt := recvMatch(t, p, want)
			if pkt.Headroom() < packet.Headroom {
				t.Errorf("headroom %d < %d", pkt.Headroom(), packet.Headroom)
			}
			if pkt.Offload != (packet.Offload{}) {
				t.Errorf("offload %+v on a plain frame", pkt.Offload)
			}
		})
	}
	if st := p.Stats(); st.RxPackets < uint64(len(tests)) || st.RxBytes == 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestSend(t *testing.T) {
	r := newRig(t, nil, "")
	p := r.open(t, afpacket.Options{})
	raw := r.host.OpenRaw(t, "eth0")
	mac := r.host.MAC(t, "eth0")
	var b packet.Batch
	var want [][]byte
	for i := range 5 {
		f := testFrame(mac, -1, i, 100+i*300)
		want = append(want, f)
		b.Add(packet.FromFrame(f))
	}
	if err := p.Send(&b); err != nil {
		t.Fatalf("Send: %v", err)
	}
	for i, w := range want {
		if _, ok := raw.Recv(3*time.Second, func(f []byte) bool { return bytes.Equal(f, w) }); !ok {
			t.Fatalf("frame %d not seen in the host namespace", i)
		}
	}
	if st := p.Stats(); st.TxPackets != 5 || st.TxDropped != 0 {
		t.Errorf("stats %+v", st)
	}
	// Our own transmissions are not received back.
	var rb packet.Batch
	if err := p.Recv(&rb); err != nil {
		t.Fatal(err)
	}
	for _, pkt := range rb.Packets() {
		for _, w := range want {
			if bytes.Equal(pkt.Data(), w) {
				t.Fatal("port received its own transmission")
			}
		}
	}
	// An oversized frame is a drop, not an error.
	b.Reset()
	b.Add(packet.FromFrame(testFrame(mac, -1, 9, 3000)))
	if err := p.Send(&b); err != nil {
		t.Fatalf("Send oversized: %v", err)
	}
	if st := p.Stats(); st.TxDropped != 1 {
		t.Errorf("TxDropped = %d, want 1", st.TxDropped)
	}
}

func TestCloseUnblocksRecv(t *testing.T) {
	r := newRig(t, nil, "")
	p := r.open(t, afpacket.Options{PollTimeout: 10 * time.Second})
	errc := make(chan error, 1)
	go func() {
		var b packet.Batch
		for {
			if err := p.Recv(&b); err != nil {
				errc <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond) // let Recv reach poll; no readiness to wait for
	start := time.Now()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, netdev.ErrClosed) {
			t.Fatalf("Recv after Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Recv still blocked 2s after Close")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	var b packet.Batch
	if err := p.Send(&b); !errors.Is(err, netdev.ErrClosed) {
		t.Errorf("Send after Close: %v", err)
	}
}

func TestOpenMissing(t *testing.T) {
	nettest.RequireRoot(t)
	_, err := afpacket.Open("gvt-missing0", afpacket.Options{})
	if !errors.Is(err, unix.ENODEV) {
		t.Fatalf("Open of a missing device: %v, want ENODEV", err)
	}
}

// forward copies batches from a to b until stop is closed, counting GSO
// frames it saw.
func forward(a, b *afpacket.Port, stop <-chan struct{}, gso *atomic.Uint64, wg *sync.WaitGroup) {
	defer wg.Done()
	// Like the datapath's poll goroutines.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var batch packet.Batch
	for {
		select {
		case <-stop:
			return
		default:
		}
		if err := a.Recv(&batch); err != nil {
			return
		}
		for _, pkt := range batch.Packets() {
			if offload.IsGSO(pkt.Offload) {
				gso.Add(1)
			}
		}
		if err := b.Send(&batch); err != nil {
			return
		}
	}
}

// bridge joins two host namespaces through two ports and a forwarding loop.
func bridge(t testing.TB, opts afpacket.Options) (hostA, hostB *nettest.NS, gso *atomic.Uint64) {
	t.Helper()
	sw := nettest.NewNS(t)
	ra := newRig(t, sw, "10.77.0.1/24")
	rb := newRig(t, sw, "10.77.0.2/24")
	pa, pb := ra.open(t, opts), rb.open(t, opts)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	gso = new(atomic.Uint64)
	wg.Add(2)
	go forward(pa, pb, stop, gso, &wg)
	go forward(pb, pa, stop, gso, &wg)
	t.Cleanup(func() {
		close(stop)
		_ = pa.Close()
		_ = pb.Close()
		wg.Wait()
	})
	return ra.host, rb.host, gso
}

// TestTCPDefaultOffloads sends TCP between two namespaces whose veths keep
// the kernel's default offloads (checksum offload, TSO): the frames cross
// the switch checksum-partial and unsegmented.
func TestTCPDefaultOffloads(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts afpacket.Options
	}{
		{"vnethdr", afpacket.Options{}},
		{"software", afpacket.Options{NoVnetHdr: true}},
		{"ring-vnethdr", afpacket.Options{RxMode: afpacket.RxRing}},
		{"ring-software", afpacket.Options{RxMode: afpacket.RxRing, NoVnetHdr: true}},
		{"mmsg-vnethdr", afpacket.Options{RxMode: afpacket.RxMmsg}},
		{"mmsg-software", afpacket.Options{RxMode: afpacket.RxMmsg, NoVnetHdr: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hostA, hostB, gso := bridge(t, tt.opts)
			const size = 16 << 20
			d := nettest.TCPTransfer(t, hostA, hostB, "10.77.0.2:5001", size)
			t.Logf("%s: %d MiB in %v = %.2f Gb/s, %d GSO frames forwarded", tt.name, size>>20, d.Round(time.Millisecond),
				float64(size*8)/d.Seconds()/1e9, gso.Load())
			if tt.opts.NoVnetHdr == false && gso.Load() == 0 {
				t.Error("no GSO frame crossed the switch: offloads not carried")
			}
		})
	}
}

func TestMain(m *testing.M) { testutil.VerifyNoLeaks(m) }

// TestPing checks ARP and ICMP through two ports, and logs the round trip
// time, which TPACKET_V3's block timeout (1 ms per hop at low rates) bounds.
func TestPing(t *testing.T) {
	nettest.RequireBinary(t, "ping")
	for _, m := range modes {
		t.Run(m.String(), func(t *testing.T) {
			hostA, _, _ := bridge(t, afpacket.Options{RxMode: m})
			out, err := hostA.Exec(10*time.Second, "ping", "-c", "5", "-i", "0.05", "-W", "2", "10.77.0.2")
			if err != nil {
				t.Fatalf("ping: %v\n%s", err, out)
			}
			lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
			t.Logf("%v: %s", m, lines[len(lines)-1])
		})
	}
}

// TestRecvInOrder sends groups of frames of mixed sizes and checks that
// they arrive complete and in order: through a frame ring small enough to
// wrap many times, with every other frame too large for a ring frame (so
// ring and socket queue interleave), and through recvmmsg vectors larger
// than a batch (frames left over for the next Recv).
func TestRecvInOrder(t *testing.T) {
	t.Run("framering", func(t *testing.T) {
		testRecvInOrder(t, afpacket.Options{RxMode: afpacket.RxFrameRing, FrameSize: 1024, FrameCount: 8}, 6)
	})
	t.Run("mmsg128", func(t *testing.T) {
		defer afpacket.SetMmsgBatch(afpacket.SetMmsgBatch(128))
		testRecvInOrder(t, afpacket.Options{RxMode: afpacket.RxMmsg}, 100)
	})
}

func testRecvInOrder(t *testing.T, opts afpacket.Options, group int) {
	r := newRig(t, nil, "")
	p := r.open(t, opts)
	raw := r.host.OpenRaw(t, "eth0")
	var b packet.Batch
	seq := 0
	for range 10 {
		var want [][]byte
		for i := range group {
			size := 60 + seq%7
			if i%2 == 1 {
				size = 1200 + seq%7
			}
			f := testFrame(broadcast, (seq%3)*50-1, seq, size)
			want = append(want, f)
			if err := raw.Send(f); err != nil {
				t.Fatalf("raw send: %v", err)
			}
			seq++
		}
		deadline := time.Now().Add(5 * time.Second)
		for len(want) > 0 && time.Now().Before(deadline) {
			if err := p.Recv(&b); err != nil {
				t.Fatal(err)
			}
			if b.N > packet.BatchSize {
				t.Fatalf("batch of %d", b.N)
			}
			for _, pkt := range b.Packets() {
				d := pkt.Data()
				if !isTestFrame(d) {
					continue
				}
				if len(want) == 0 || !bytes.Equal(d, want[0]) {
					t.Fatalf("got frame % x (%d bytes), want % x (%d bytes)", d[:22], len(d), want[0][:22], len(want[0]))
				}
				want = want[1:]
			}
		}
		if len(want) > 0 {
			t.Fatalf("%d frames of a group of %d not received (stats %+v)", len(want), group, p.Stats())
		}
	}
}

// isTestFrame reports whether frame carries testEtherType, tagged or not.
func isTestFrame(f []byte) bool {
	if len(f) < 18 {
		return false
	}
	et := binary.BigEndian.Uint16(f[12:])
	if et == 0x8100 {
		et = binary.BigEndian.Uint16(f[16:])
	}
	return et == testEtherType
}

// testFrameSeq returns the sequence number testFrame wrote into f, and
// whether f is a test frame at all.
func testFrameSeq(f []byte) (int, bool) {
	if !isTestFrame(f) {
		return 0, false
	}
	off := 14
	if binary.BigEndian.Uint16(f[12:]) == 0x8100 {
		off = 18
	}
	if len(f) < off+4 {
		return 0, false
	}
	return int(binary.BigEndian.Uint32(f[off:])), true
}
