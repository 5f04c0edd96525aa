package afpacket_test

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gvswitch/gvswitch/datapath/netdev/afpacket"
	"github.com/gvswitch/gvswitch/datapath/netdev/internal/nettest"
	"github.com/gvswitch/gvswitch/datapath/packet"
	"github.com/gvswitch/gvswitch/internal/testutil"
)

// TestLazyRingHandover streams numbered frames (some VLAN-tagged, some too
// large for a 1 KiB ring frame) at a lazy port: it receives the first ones
// with recvmmsg, builds its frame ring meanwhile and takes it over. Every
// frame must arrive exactly once and in order across the handover.
func TestLazyRingHandover(t *testing.T) { forHandovers(t, testLazyRingHandover) }

// forHandovers runs test with the steered handover (when the kernel
// supports it) and with the fanout group's, each with the port in a
// namespace of its own (handover sockets made at open, SparesAtOpen) and
// in the process's namespace (made by the builder goroutine, as
// gvswitchd's are).
func forHandovers(t *testing.T, test func(*testing.T)) {
	spares := func(t *testing.T) {
		t.Run("spares-at-open", test)
		t.Run("spares-by-builder", func(t *testing.T) {
			defer func(v bool) { rigInProcNS = v }(rigInProcNS)
			rigInProcNS = true
			test(t)
		})
	}
	t.Run("steer", func(t *testing.T) {
		testutil.Require(t, afpacket.SteerSupported(), "the kernel refused the steering programs (bpf, membarrier)")
		spares(t)
	})
	t.Run("fanout", func(t *testing.T) {
		defer afpacket.SetForceFanout(afpacket.SetForceFanout(true))
		spares(t)
	})
}

func testLazyRingHandover(t *testing.T) {
	r := newRig(t, nil, "")
	p := r.open(t, afpacket.Options{LazyRing: true, FrameSize: 1024, FrameCount: 1024})
	if m := p.RxMode(); m != afpacket.RxMmsg {
		t.Fatalf("lazy port before traffic: RxMode %v, want mmsg", m)
	}
	raw := r.host.OpenRaw(t, "eth0")
	const total = 6000
	sendErr := make(chan error, 1)
	var sent atomic.Bool
	go func() {
		defer sent.Store(true)
		for seq := range total {
			size := 60 + seq%9
			if seq%5 == 4 {
				size = 1200 // socket-queue path of the frame ring
			}
			if err := raw.Send(testFrame(broadcast, seq%4*30-1, seq, size)); err != nil {
				sendErr <- err
				return
			}
			if seq%20 == 19 {
				// Steady, not a flood: the ring must not overflow
				// (kernel drops, counted in RxDropped) while Recv
				// drains the first socket, even on a loaded machine.
				time.Sleep(time.Millisecond)
			}
		}
		sendErr <- nil
	}()
	next, switchedAt, missing := 0, -1, 0
	var b packet.Batch
	deadline := time.Now().Add(20 * time.Second)
	last := time.Now()
	for next < total && time.Now().Before(deadline) {
		if sent.Load() && time.Since(last) > time.Second {
			missing += total - next // the tail was dropped
			next = total
			break
		}
		if err := p.Recv(&b); err != nil {
			t.Fatal(err)
		}
		if b.N > 0 {
			last = time.Now()
		}
		if switchedAt < 0 && p.RxMode() == afpacket.RxFrameRing {
			switchedAt = next
		}
		for _, pkt := range b.Packets() {
			d := pkt.Data()
			seq, ok := testFrameSeq(d)
			if !ok {
				continue
			}
			if seq < next {
				t.Fatalf("frame %d after %d (mode %v, stats %+v): duplicated or reordered", seq, next-1, p.RxMode(), p.Stats())
			}
			// A gap is only allowed when the kernel counted as many
			// drops (ring or queue full on a busy machine); checked
			// at the end.
			missing += seq - next
			next = seq
			want := testFrame(broadcast, seq%4*30-1, seq, len(d))
			if string(d) != string(want) {
				t.Fatalf("frame %d corrupted", seq)
			}
			next++
		}
	}
	if err := <-sendErr; err != nil {
		t.Fatalf("send: %v", err)
	}
	if next < total {
		t.Fatalf("received %d of %d frames (mode %v, stats %+v)", next, total, p.RxMode(), p.Stats())
	}
	if switchedAt < 0 || switchedAt > total*9/10 {
		t.Fatalf("ring took over after frame %d of %d: the handover was not exercised mid-stream", switchedAt, total)
	}
	t.Logf("ring took over after %d frames", switchedAt)
	checkSteered(t, p)
	if st := p.Stats(); uint64(missing) > st.RxDropped || st.RxErrors != 0 {
		t.Fatalf("%d frames missing, stats %+v: lost without a kernel drop", missing, st)
	}
}

// TestLazyRingIdle: a lazy port that sees no traffic never builds a ring,
// and one closed in the middle of the handover leaves nothing behind (the
// package's TestMain checks for leaked goroutines).
func TestLazyRingIdle(t *testing.T) {
	r := newRig(t, nil, "")
	idle := r.open(t, afpacket.Options{LazyRing: true})
	var b packet.Batch
	if err := idle.Recv(&b); err != nil {
		t.Fatal(err)
	}
	if m := idle.RxMode(); m != afpacket.RxMmsg {
		t.Fatalf("idle lazy port: RxMode %v", m)
	}
	_ = idle.Close()

	defer afpacket.SetLazyMinFrames(afpacket.SetLazyMinFrames(1))
	p := r.open(t, afpacket.Options{LazyRing: true})
	raw := r.host.OpenRaw(t, "eth0")
	f := testFrame(broadcast, -1, 1, 60)
	if err := raw.Send(f); err != nil {
		t.Fatal(err)
	}
	recvMatch(t, p, f) // starts the builder
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestIdleBackOff: an idle port's poll timeout grows from PollTimeout up to
// IdlePollTimeout, and the first frame brings it back.
func TestIdleBackOff(t *testing.T) {
	r := newRig(t, nil, "")
	p := r.open(t, afpacket.Options{LazyRing: true, PollTimeout: time.Millisecond, IdlePollTimeout: 300 * time.Millisecond})
	var b packet.Batch
	deadline := time.Now().Add(20 * time.Second)
	for afpacket.WaitMS(p) < 300 && time.Now().Before(deadline) {
		if err := p.Recv(&b); err != nil {
			t.Fatal(err)
		}
	}
	if w := afpacket.WaitMS(p); w != 300 {
		t.Fatalf("idle port waits %d ms, want 300", w)
	}
	raw := r.host.OpenRaw(t, "eth0")
	f := testFrame(broadcast, -1, 1, 60)
	if err := raw.Send(f); err != nil {
		t.Fatal(err)
	}
	recvMatch(t, p, f)
	if w := afpacket.WaitMS(p); w != 1 {
		t.Fatalf("after a frame the port waits %d ms, want 1", w)
	}
}

// TestLazyRingGrow overflows a lazy port's small ring (frames sent while
// nobody receives), so the kernel drops and the port moves to a larger ring
// on its next receives, while numbered frames keep streaming in: after the
// overflow every frame must arrive exactly once and in order across the
// grow handover, and only as many frames may be missing as the kernel
// counted as dropped (the overflow's and any later ones).
func TestLazyRingGrow(t *testing.T) { forHandovers(t, testLazyRingGrow) }

func testLazyRingGrow(t *testing.T) {
	defer afpacket.SetGrowCheckEvery(afpacket.SetGrowCheckEvery(4))
	r := newRig(t, nil, "")
	p := r.open(t, afpacket.Options{LazyRing: true, FrameSize: 1024, FrameCount: 64, GrowFrameCount: 512})
	raw := r.host.OpenRaw(t, "eth0")
	// First frames: the ring is built and taken over.
	var b packet.Batch
	sendUntilRing(t, p, raw, &b)
	for b.N > 0 || afpacket.RingFrames(p) == 0 { // drain
		if err := p.Recv(&b); err != nil {
			t.Fatal(err)
		}
	}
	if n := afpacket.RingFrames(p); n != 64 {
		t.Fatalf("ring of %d frames before any drop, want 64", n)
	}
	// Overflow: 300 frames into a 64-frame ring nobody reads.
	const burst, total = 300, 4000
	dropsBefore := p.Stats().RxDropped
	for seq := range burst {
		if err := raw.Send(testFrame(broadcast, -1, seq, 60)); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 2*time.Second, 10*time.Millisecond, func() bool { return p.Stats().RxDropped > dropsBefore },
		"no kernel drops after %d frames into a 64-frame ring", burst)
	if st := p.Stats(); st.RxDropped == dropsBefore {
		t.Fatalf("no kernel drops after %d frames into a 64-frame ring: %+v", burst, st)
	}
	sendErr := make(chan error, 1)
	var sent atomic.Bool
	go func() {
		defer sent.Store(true)
		for seq := burst; seq < total; seq++ {
			size := 60 + seq%9
			if seq%7 == 3 {
				size = 1100 // socket-queue path of a 1 KiB ring frame
			}
			if err := raw.Send(testFrame(broadcast, seq%4*30-1, seq, size)); err != nil {
				sendErr <- err
				return
			}
			if seq%20 == 19 {
				time.Sleep(time.Millisecond) // steady, so the 64-frame ring keeps up
			}
		}
		sendErr <- nil
	}()
	next, grewAt, missing := 0, -1, 0
	last := time.Now()
	deadline := time.Now().Add(20 * time.Second)
	for next < total && time.Now().Before(deadline) {
		if sent.Load() && time.Since(last) > time.Second {
			missing += total - next
			next = total
			break
		}
		if err := p.Recv(&b); err != nil {
			t.Fatal(err)
		}
		if b.N > 0 {
			last = time.Now()
		}
		if grewAt < 0 && afpacket.RingFrames(p) == 512 {
			grewAt = next
		}
		for _, pkt := range b.Packets() {
			d := pkt.Data()
			seq, ok := testFrameSeq(d)
			if !ok {
				continue
			}
			if seq < next {
				t.Fatalf("frame %d after %d (ring %d frames): duplicated or reordered", seq, next-1, afpacket.RingFrames(p))
			}
			missing += seq - next
			next = seq
			vlan := -1
			if seq >= burst {
				vlan = seq%4*30 - 1
			}
			if want := testFrame(broadcast, vlan, seq, len(d)); string(d) != string(want) {
				t.Fatalf("frame %d corrupted", seq)
			}
			next++
		}
	}
	if err := <-sendErr; err != nil {
		t.Fatalf("send: %v", err)
	}
	if next < total {
		t.Fatalf("received up to frame %d of %d (stats %+v)", next, total, p.Stats())
	}
	if grewAt < 0 || grewAt > total*9/10 {
		t.Fatalf("ring grew after frame %d of %d (ring %d frames): the grow handover was not exercised mid-stream",
			grewAt, total, afpacket.RingFrames(p))
	}
	t.Logf("ring grew to 512 frames after frame %d", grewAt)
	checkSteered(t, p)
	if st := p.Stats(); uint64(missing) > st.RxDropped-dropsBefore || st.RxErrors != 0 {
		t.Fatalf("%d frames missing after the overflow, stats %+v (drops before %d): lost without a kernel drop",
			missing, st, dropsBefore)
	}
}

// checkSteered: after a steered handover the port's socket is in no fanout
// group.
func checkSteered(t *testing.T, p *afpacket.Port) {
	t.Helper()
	if afpacket.SetForceFanout(false) {
		afpacket.SetForceFanout(true)
		return
	}
	if g := afpacket.FanoutGroup(p); g != 0 {
		t.Fatalf("steered port in fanout group %#x", g)
	}
}

// TestLazyRingRefused: a lazy port whose ring the kernel refuses keeps
// receiving with recvmmsg, and leaves no socket behind (the package's
// TestMain checks for leaked descriptors).
func TestLazyRingRefused(t *testing.T) {
	forHandovers(t, func(t *testing.T) {
		defer afpacket.SetLazyMinFrames(afpacket.SetLazyMinFrames(1))
		r := newRig(t, nil, "")
		p := r.open(t, afpacket.Options{LazyRing: true})
		defer afpacket.SetFailFrameRing(afpacket.SetFailFrameRing(unix.ENOMEM))
		raw := r.host.OpenRaw(t, "eth0")
		for seq := range 20 {
			f := testFrame(broadcast, -1, seq, 60)
			if err := raw.Send(f); err != nil {
				t.Fatal(err)
			}
			recvMatch(t, p, f)
			time.Sleep(5 * time.Millisecond)
		}
		if m := p.RxMode(); m != afpacket.RxMmsg {
			t.Fatalf("lazy port with a refused ring: RxMode %v, want mmsg", m)
		}
	})
}

// TestLazyOpenSockets: a lazy port in the process's namespace creates one
// packet socket at open (the builder goroutine makes the handover's later,
// if traffic comes); with SparesAtOpen it also makes the first ring's and,
// when it may grow, the grow handover's.
func TestLazyOpenSockets(t *testing.T) {
	for _, c := range []struct {
		name           string
		procNS, spares bool
		grow, want     int
	}{
		{"by-builder", true, false, 0, 1},
		{"at-open", false, true, 0, 3},
		{"at-open-nogrow", false, true, -1, 2},
		{"at-open-procns", true, true, 0, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func(v bool) { rigInProcNS = v }(rigInProcNS)
			rigInProcNS = c.procNS
			r := newRig(t, nil, "")
			before := packetSockets(t, r.sw)
			p := r.open(t, afpacket.Options{LazyRing: true, SparesAtOpen: c.spares, GrowFrameCount: c.grow})
			if n := packetSockets(t, r.sw) - before; n != c.want {
				t.Fatalf("lazy port opened with %d packet sockets, want %d", n, c.want)
			}
			raw := r.host.OpenRaw(t, "eth0")
			var b packet.Batch
			sendUntilRing(t, p, raw, &b)
		})
	}
}

// packetSockets counts this process's open packet sockets in ns.
func packetSockets(t *testing.T, ns *nettest.NS) int {
	t.Helper()
	inodes := map[string]bool{}
	ns.Do(t, func() error {
		b, err := os.ReadFile("/proc/thread-self/net/packet")
		if err != nil {
			return err
		}
		for _, l := range strings.Split(string(b), "\n")[1:] {
			if f := strings.Fields(l); len(f) > 0 {
				inodes[f[len(f)-1]] = true
			}
		}
		return nil
	})
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		l, err := os.Readlink("/proc/self/fd/" + e.Name())
		if ino, ok := strings.CutPrefix(l, "socket:["); err == nil && ok && inodes[strings.TrimSuffix(ino, "]")] {
			n++
		}
	}
	return n
}

// TestLazyRingLinkUpMulticast: ports whose peers bring IPv6 up see its
// link-up multicast (duplicate address detection, MLD reports, router
// solicitations), a few frames each, and build no ring (and keep one
// recvmmsg slot); a steady stream
// of frames then builds one. With the threshold at one frame (as before
// it existed) the same link-up builds every port's ring.
func TestLazyRingLinkUpMulticast(t *testing.T) {
	for _, c := range []struct {
		name      string
		minFrames int
		wantRings bool
	}{{"threshold", 0, false}, {"first-frame", 1, true}} {
		t.Run(c.name, func(t *testing.T) {
			if c.minFrames > 0 {
				defer afpacket.SetLazyMinFrames(afpacket.SetLazyMinFrames(c.minFrames))
			}
			testLinkUpMulticast(t, c.wantRings)
		})
	}
}

func testLinkUpMulticast(t *testing.T, wantRings bool) {
	const ports = 8
	sw, host := nettest.NewNS(t), nettest.NewNS(t)
	ps := make([]*afpacket.Port, ports)
	for i := range ports {
		r := &rig{sw: sw, host: host, portName: "p" + nettest.Suffix()}
		nettest.Veth(t, sw, r.portName, host, fmt.Sprintf("eth%d", i))
		ps[i] = r.open(t, afpacket.Options{LazyRing: true, PollTimeout: 10 * time.Millisecond,
			IdlePollTimeout: 10 * time.Millisecond})
	}
	var frames [ports]atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b packet.Batch
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := p.Recv(&b); err != nil {
					return
				}
				frames[i].Add(int64(b.N))
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	// IPv6 on the peers (nettest turns it off in new namespaces): a
	// link-local address, its duplicate address detection, MLD reports
	// and, after DAD, router solicitations, on every peer.
	host.Do(t, func() error {
		for i := range ports {
			f := fmt.Sprintf("/proc/sys/net/ipv6/conf/eth%d/disable_ipv6", i)
			if err := os.WriteFile(f, []byte("0"), 0o644); err != nil {
				return err
			}
		}
		return nil
	})
	testutil.Eventually(t, 10*time.Second, 50*time.Millisecond, func() bool {
		for i := range frames {
			if frames[i].Load() < 3 {
				return false
			}
		}
		return true
	}, "the ports did not see the peers' IPv6 link-up multicast")
	time.Sleep(1500 * time.Millisecond) // router solicitations follow DAD; and a ring being built
	rings, slots := 0, 0
	for _, p := range ps {
		if p.RxMode() == afpacket.RxFrameRing {
			rings++
		} else {
			slots = max(slots, afpacket.MmsgSlots(p))
		}
	}
	n := make([]int64, ports)
	for i := range frames {
		n[i] = frames[i].Load()
	}
	t.Logf("frames per port %v, rings built %d of %d, at most %d recvmmsg slots", n, rings, ports, slots)
	if !wantRings && slots != 1 {
		// A slot is 64 KiB: a vector of them per port would pin 2 MiB
		// for a few frames.
		t.Fatalf("a port without a ring has %d recvmmsg slots after link-up multicast, want 1", slots)
	}
	if want := map[bool]int{true: ports, false: 0}[wantRings]; rings != want {
		t.Fatalf("%d of %d ports built a ring after IPv6 link-up, want %d", rings, ports, want)
	}
	if wantRings {
		return
	}
	// Traffic builds the ring.
	raw := host.OpenRaw(t, "eth0")
	testutil.Eventually(t, 10*time.Second, time.Millisecond, func() bool {
		_ = raw.Send(testFrame(broadcast, -1, 0, 60))
		return ps[0].RxMode() == afpacket.RxFrameRing
	}, "a steady stream of frames built no ring")
}

// sendUntilRing sends numbered broadcast frames from raw and receives them on
// p (into b) until p's lazy ring has taken over, failing after 10 s.
func sendUntilRing(t *testing.T, p *afpacket.Port, raw *nettest.Raw, b *packet.Batch) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for seq := 0; p.RxMode() != afpacket.RxFrameRing; seq++ {
		if time.Now().After(deadline) {
			t.Fatal("the lazy ring never took over")
		}
		if err := raw.Send(testFrame(broadcast, -1, seq, 60)); err != nil {
			t.Fatal(err)
		}
		if err := p.Recv(b); err != nil {
			t.Fatal(err)
		}
	}
}
