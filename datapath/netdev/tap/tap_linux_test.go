package tap_test

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/gvswitch/gvswitch/datapath/netdev"
	"github.com/gvswitch/gvswitch/datapath/netdev/afpacket"
	"github.com/gvswitch/gvswitch/datapath/netdev/internal/nettest"
	"github.com/gvswitch/gvswitch/datapath/netdev/tap"
	"github.com/gvswitch/gvswitch/datapath/offload"
	"github.com/gvswitch/gvswitch/datapath/packet"
	"github.com/gvswitch/gvswitch/internal/testutil"
)

func create(t *testing.T, ns *nettest.NS, name string, opts tap.Options) *tap.Port {
	t.Helper()
	var p *tap.Port
	ns.Do(t, func() (err error) {
		p, err = tap.Create(name, opts)
		return err
	})
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func exists(t *testing.T, ns *nettest.NS, name string) bool {
	var ok bool
	ns.Do(t, func() error {
		ok = tap.Exists(name)
		return nil
	})
	return ok
}

func TestCreateClose(t *testing.T) {
	ns := nettest.NewNS(t)
	name := "gvtap" + nettest.Suffix()
	mac := net.HardwareAddr{0x02, 0x47, 0x56, 0, 0, 9}
	p := create(t, ns, name, tap.Options{MAC: mac, MTU: 1400})
	if p.Name() != name || !p.Created() || !p.VnetHdr() || p.MTU() != 1400 {
		t.Fatalf("port %q created %v vnet %v mtu %d", p.Name(), p.Created(), p.VnetHdr(), p.MTU())
	}
	ns.Do(t, func() error {
		l, err := netlink.LinkByName(name)
		if err != nil {
			return err
		}
		a := l.Attrs()
		if a.HardwareAddr.String() != mac.String() || a.MTU != 1400 || a.Flags&net.FlagUp == 0 || l.Type() != "tuntap" {
			t.Errorf("link %s: mac %s mtu %d flags %v type %s", name, a.HardwareAddr, a.MTU, a.Flags, l.Type())
		}
		return nil
	})
	var dup *tap.Port
	err := ns.Run(func() (err error) {
		dup, err = tap.Create(name, tap.Options{})
		return err
	})
	if err == nil {
		_ = dup.Close()
		t.Fatal("Create of an existing name succeeded")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if exists(t, ns, name) {
		t.Fatal("device still exists after Close")
	}
}

func TestCreatePersist(t *testing.T) {
	ns := nettest.NewNS(t)
	name := "gvtap" + nettest.Suffix()
	p := create(t, ns, name, tap.Options{Persist: true})
	if !exists(t, ns, name) {
		t.Fatal("device missing")
	}
	_ = p.Close()
	if exists(t, ns, name) {
		t.Fatal("persistent device we created survived Close")
	}
}

// forward copies batches from a to b until Recv or Send fails.
func forward(a, b netdev.Port, gso *atomic.Uint64, wg *sync.WaitGroup) {
	defer wg.Done()
	var batch packet.Batch
	for {
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

// tapPair gives each of two namespaces a TAP owned by the test and bridges
// the two TAPs with a forwarding loop.
func tapPair(t *testing.T, optsA, optsB tap.Options) (nsA, nsB *nettest.NS, gso *atomic.Uint64) {
	t.Helper()
	nsA, nsB = nettest.NewNS(t), nettest.NewNS(t)
	sfx := nettest.Suffix()
	optsA.MAC = net.HardwareAddr{0x02, 0x47, 0x56, 0, 0, 1}
	optsB.MAC = net.HardwareAddr{0x02, 0x47, 0x56, 0, 0, 2}
	pa := create(t, nsA, "gva"+sfx, optsA)
	pb := create(t, nsB, "gvb"+sfx, optsB)
	nsA.AddAddr(t, pa.Name(), "10.78.0.1/24")
	nsB.AddAddr(t, pb.Name(), "10.78.0.2/24")
	gso = new(atomic.Uint64)
	var wg sync.WaitGroup
	wg.Add(2)
	go forward(pa, pb, gso, &wg)
	go forward(pb, pa, gso, &wg)
	t.Cleanup(func() {
		_ = pa.Close()
		_ = pb.Close()
		wg.Wait()
	})
	return nsA, nsB, gso
}

func TestPingThroughTaps(t *testing.T) {
	nettest.RequireBinary(t, "ping")
	nsA, _, _ := tapPair(t, tap.Options{}, tap.Options{})
	out, err := nsA.Exec(10*time.Second, "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.78.0.2")
	if err != nil {
		t.Fatalf("ping: %v\n%s", err, out)
	}
}

func TestTCPThroughTaps(t *testing.T) {
	tests := []struct {
		name       string
		optA, optB tap.Options
		wantGSO    bool
	}{
		{"vnethdr", tap.Options{}, tap.Options{}, true},
		{"to-plain", tap.Options{}, tap.Options{NoVnetHdr: true}, true},
		{"plain", tap.Options{NoVnetHdr: true}, tap.Options{NoVnetHdr: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nsA, nsB, gso := tapPair(t, tt.optA, tt.optB)
			const size = 32 << 20
			d := nettest.TCPTransfer(t, nsA, nsB, "10.78.0.2:5001", size)
			t.Logf("%s: %d MiB in %v = %.2f Gb/s, %d GSO frames", tt.name, size>>20, d.Round(time.Millisecond),
				float64(size*8)/d.Seconds()/1e9, gso.Load())
			if tt.wantGSO && gso.Load() == 0 {
				t.Error("no GSO frame crossed the switch")
			}
		})
	}
}

func TestOpenHeldFallsBackToAFPacket(t *testing.T) {
	ns := nettest.NewNS(t)
	name := "gvtap" + nettest.Suffix()
	create(t, ns, name, tap.Options{})
	var p netdev.Port
	ns.Do(t, func() (err error) {
		p, err = tap.Open(name, tap.Options{})
		return err
	})
	defer p.Close()
	if _, ok := p.(*afpacket.Port); !ok {
		t.Fatalf("Open of a held tap returned %T, want *afpacket.Port", p)
	}
}

func TestOpenPersistent(t *testing.T) {
	nettest.RequireBinary(t, "ip")
	ns := nettest.NewNS(t)
	name := "gvtap" + nettest.Suffix()
	if out, err := ns.Exec(5*time.Second, "ip", "tuntap", "add", "dev", name, "mode", "tap"); err != nil {
		t.Fatalf("ip tuntap add: %v\n%s", err, out)
	}
	var p netdev.Port
	ns.Do(t, func() (err error) {
		p, err = tap.Open(name, tap.Options{})
		return err
	})
	tp, ok := p.(*tap.Port)
	if !ok {
		t.Fatalf("Open of a free persistent tap returned %T", p)
	}
	if tp.Created() || !tp.VnetHdr() {
		t.Errorf("created %v vnet %v", tp.Created(), tp.VnetHdr())
	}
	_ = p.Close()
	if !exists(t, ns, name) {
		t.Fatal("Close removed a device it did not create")
	}
	var notTap netdev.Port
	err := ns.Run(func() (err error) {
		notTap, err = tap.Open("lo", tap.Options{})
		return err
	})
	if err == nil {
		_ = notTap.Close()
		t.Fatal("Open(lo) succeeded")
	}
}

func TestCloseUnblocksRecv(t *testing.T) {
	ns := nettest.NewNS(t)
	p := create(t, ns, "gvtap"+nettest.Suffix(), tap.Options{PollTimeout: 10 * time.Second})
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
	time.Sleep(50 * time.Millisecond) // let Recv reach poll; there is no readiness signal to wait for
	_ = p.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, netdev.ErrClosed) {
			t.Fatalf("Recv after Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Recv still blocked 2s after Close")
	}
}

func TestMain(m *testing.M) { testutil.VerifyNoLeaks(m) }

// TestTCPTapToVeth is the KVM host case: a TAP on one side (a VM's port),
// a veth through AF_PACKET on the other, default offloads on both, so TSO
// frames cross between the two providers' virtio-net headers.
func TestTCPTapToVeth(t *testing.T) {
	for _, mode := range []afpacket.RxMode{afpacket.RxRing, afpacket.RxMmsg} {
		t.Run(mode.String(), func(t *testing.T) {
			nsA, sw, nsB := nettest.NewNS(t), nettest.NewNS(t), nettest.NewNS(t)
			sfx := nettest.Suffix()
			pa := create(t, nsA, "gva"+sfx, tap.Options{MAC: net.HardwareAddr{0x02, 0x47, 0x56, 0, 0, 1}})
			nsA.AddAddr(t, pa.Name(), "10.79.0.1/24")
			nettest.Veth(t, sw, "gvp"+sfx, nsB, "eth0")
			nsB.AddAddr(t, "eth0", "10.79.0.2/24")
			var pb *afpacket.Port
			sw.Do(t, func() (err error) {
				pb, err = afpacket.Open("gvp"+sfx, afpacket.Options{RxMode: mode})
				return err
			})
			gso := new(atomic.Uint64)
			var wg sync.WaitGroup
			wg.Add(2)
			go forward(pa, pb, gso, &wg)
			go forward(pb, pa, gso, &wg)
			t.Cleanup(func() {
				_ = pa.Close()
				_ = pb.Close()
				wg.Wait()
			})
			const size = 32 << 20
			d := nettest.TCPTransfer(t, nsA, nsB, "10.79.0.2:5001", size)
			d2 := nettest.TCPTransfer(t, nsB, nsA, "10.79.0.1:5002", size)
			t.Logf("tap->veth %.2f Gb/s, veth->tap %.2f Gb/s, %d GSO frames",
				float64(size*8)/d.Seconds()/1e9, float64(size*8)/d2.Seconds()/1e9, gso.Load())
			if gso.Load() == 0 {
				t.Error("no GSO frame crossed the switch")
			}
		})
	}
}

// TestCreateDown is an Open vSwitch internal port: created down with its
// MAC and MTU, it sends nothing until brought up, and Create reports a taken
// name, TAP or not, as EEXIST.
func TestCreateDown(t *testing.T) {
	ns := nettest.NewNS(t)
	name := "gvtap" + nettest.Suffix()
	mac := net.HardwareAddr{0x02, 0x47, 0x56, 0, 0, 7}
	ns.Do(t, func() error {
		// Let the device do IPv6 (router solicitation, MLD) if it ever
		// comes up; NewNS turned it off by default.
		return os.WriteFile("/proc/sys/net/ipv6/conf/default/disable_ipv6", []byte("0"), 0o644)
	})
	p := create(t, ns, name, tap.Options{MAC: mac, MTU: 1400, Down: true, PollTimeout: 50 * time.Millisecond})
	if p.MTU() != 1400 {
		t.Errorf("MTU() = %d, want 1400", p.MTU())
	}
	var b packet.Batch
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		if err := p.Recv(&b); err != nil {
			t.Fatal(err)
		}
		if b.N > 0 {
			t.Fatalf("a down device sent %d frames", b.N)
		}
	}
	ns.Do(t, func() error {
		l, err := netlink.LinkByName(name)
		if err != nil {
			return err
		}
		a := l.Attrs()
		if a.Flags&net.FlagUp != 0 || a.HardwareAddr.String() != mac.String() || a.MTU != 1400 {
			t.Errorf("link %s: flags %v mac %s mtu %d, want down %s 1400", name, a.Flags, a.HardwareAddr, a.MTU, mac)
		}
		if a.Statistics != nil && a.Statistics.TxPackets != 0 {
			t.Errorf("link %s transmitted %d packets while down", name, a.Statistics.TxPackets)
		}
		return nil
	})
	// Sending to the down device: the kernel refuses the first frame
	// (EIO) and the rest of the batch is dropped without more writes.
	var out packet.Batch
	for i := range 5 {
		f := make([]byte, 60)
		copy(f, net.HardwareAddr{0x02, 0, 0, 0, 0, 2})
		copy(f[6:], mac)
		f[12], f[13], f[14] = 0x88, 0xb5, byte(i)
		out.Add(packet.FromFrame(f))
	}
	if err := p.Send(&out); err != nil {
		t.Fatalf("Send to a down device: %v", err)
	}
	if st := p.Stats(); st.TxDropped != 5 || st.TxPackets != 0 {
		t.Errorf("Send of 5 frames to a down device: tx %d dropped %d, want 0 and 5", st.TxPackets, st.TxDropped)
	}
	for _, taken := range []string{name, "lo"} {
		var dup *tap.Port
		err := ns.Run(func() (err error) {
			dup, err = tap.Create(taken, tap.Options{Down: true})
			return err
		})
		if err == nil {
			_ = dup.Close()
			t.Fatalf("Create(%s) of a taken name succeeded", taken)
		}
		if !errors.Is(err, unix.EEXIST) {
			t.Errorf("Create(%s): %v, want EEXIST", taken, err)
		}
	}
	// Defaults: no MAC, no MTU, down: the kernel's MTU is reported.
	q := create(t, ns, "", tap.Options{Down: true})
	if q.MTU() != 1500 || !exists(t, ns, q.Name()) {
		t.Errorf("%s: MTU() = %d, exists %v", q.Name(), q.MTU(), exists(t, ns, q.Name()))
	}
}

// TestRecvSendNoAllocs: Recv and Send allocate nothing per packet, with and
// without a virtio-net header. A generator on the TAP's kernel side (an
// AF_PACKET socket) feeds Recv; Send writes the batch to a second TAP.
func TestRecvSendNoAllocs(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run(map[bool]string{false: "vnethdr", true: "plain"}[plain], func(t *testing.T) {
			ns := nettest.NewNS(t)
			sfx := nettest.Suffix()
			opts := tap.Options{NoVnetHdr: plain, PollTimeout: time.Second}
			pa := create(t, ns, "gva"+sfx, opts)
			pb := create(t, ns, "gvb"+sfx, opts)
			var gen *afpacket.Port
			ns.Do(t, func() (err error) {
				gen, err = afpacket.Open(pa.Name(), afpacket.Options{NoPromisc: true})
				return err
			})
			t.Cleanup(func() { _ = gen.Close() })
			var frames packet.Batch
			for i := range 8 {
				f := make([]byte, 60)
				copy(f, net.HardwareAddr{0x02, 0, 0, 0, 0, 2})
				copy(f[6:], net.HardwareAddr{0x02, 0, 0, 0, 0, 1})
				f[12], f[13], f[14] = 0x88, 0xb5, byte(i)
				frames.Add(packet.FromFrame(f))
			}
			var batch packet.Batch
			round := func() {
				if err := gen.Send(&frames); err != nil {
					t.Fatal(err)
				}
				if err := pa.Recv(&batch); err != nil {
					t.Fatal(err)
				}
				if err := pb.Send(&batch); err != nil {
					t.Fatal(err)
				}
			}
			for range 3 { // first calls may grow the goroutine stack
				round()
			}
			if n := testing.AllocsPerRun(50, round); n != 0 {
				t.Fatalf("Send+Recv+Send allocates %v times per round", n)
			}
			if pa.Stats().RxPackets == 0 || pb.Stats().TxPackets == 0 {
				t.Fatalf("nothing crossed: rx %+v tx %+v", pa.Stats(), pb.Stats())
			}
		})
	}
}

// TestIdleBackOffEndsOnFrame: after enough empty waits the idle back-off
// has grown the poll wait to IdlePollTimeout, yet a frame still ends the
// wait at once instead of at the timeout.
func TestIdleBackOffEndsOnFrame(t *testing.T) {
	ns := nettest.NewNS(t)
	p := create(t, ns, "gvtap"+nettest.Suffix(), tap.Options{PollTimeout: time.Millisecond, IdlePollTimeout: 30 * time.Second})
	var gen *afpacket.Port
	ns.Do(t, func() (err error) {
		gen, err = afpacket.Open(p.Name(), afpacket.Options{NoPromisc: true})
		return err
	})
	t.Cleanup(func() { _ = gen.Close() })
	var b packet.Batch
	// 11 waits of 1 ms, then 2, 4, ... 1024 ms (about 2 s in all): the
	// next wait is 2048 ms.
	for range 21 {
		if err := p.Recv(&b); err != nil {
			t.Fatal(err)
		}
		if b.N != 0 {
			t.Fatalf("idle TAP received %d frames", b.N)
		}
	}
	got := make(chan int, 1)
	go func() {
		var rb packet.Batch
		for rb.N == 0 {
			if err := p.Recv(&rb); err != nil {
				got <- -1
				return
			}
		}
		got <- rb.N
	}()
	time.Sleep(50 * time.Millisecond) // let Recv reach its long poll
	f := make([]byte, 60)
	copy(f, net.HardwareAddr{0x02, 0, 0, 0, 0, 2})
	copy(f[6:], net.HardwareAddr{0x02, 0, 0, 0, 0, 1})
	f[12], f[13] = 0x88, 0xb5
	var frames packet.Batch
	frames.Add(packet.FromFrame(f))
	if err := gen.Send(&frames); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-got:
		if n <= 0 {
			t.Fatalf("Recv after the frame: %d", n)
		}
	case <-time.After(1500 * time.Millisecond):
		// Not a speed bound: the frame arrives within microseconds; only
		// a wait that ran to its 2 s timeout gets here.
		t.Fatal("a frame did not end the idle wait (the back-off wait is 2 s)")
	}
}
