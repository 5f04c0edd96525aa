package datapath

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/datapath/netdev/dummy"
	"github.com/gvswitch/gvswitch/datapath/packet"
	"github.com/gvswitch/gvswitch/internal/pkttest"
)

// mac returns 02:00:00:00:hi:lo.
func mac(n int) [6]byte { return [6]byte{2, 0, 0, 0, byte(n >> 8), byte(n)} }

// udpFrame builds a UDP/IPv4 frame from host src to host dst.
func udpFrame(src, dst int, sport, dport uint16, vlans ...pkttest.VLAN) []byte {
	return pkttest.UDP4(
		pkttest.Eth{Src: mac(src), Dst: mac(dst), VLANs: vlans},
		pkttest.IPv4{Src: netip.AddrFrom4([4]byte{10, 0, byte(src >> 8), byte(src)}),
			Dst: netip.AddrFrom4([4]byte{10, 0, byte(dst >> 8), byte(dst)})},
		pkttest.UDP{Src: sport, Dst: dport, Payload: make([]byte, 18)})
}

// l2Mask is the mask NORMAL switching produces: in_port, MACs and VLAN.
func l2Mask() Mask {
	var m Mask
	m.InPort = ExactU32
	m.EthSrc, m.EthDst = ExactMAC, ExactMAC
	m.VLAN[0] = VLANTag{TPID: ExactU16, TCI: 0x0fff}
	return m
}

// floodHandler is a trivial slow path: flood to every other port, with the
// NORMAL-like mask. It counts its calls.
type floodHandler struct {
	dp    *Datapath
	mu    sync.Mutex
	calls int
	mask  Mask
}

func (h *floodHandler) Upcall(k *FlowKey, pkt *packet.Packet) (Actions, Mask, error) {
	h.mu.Lock()
	h.calls++
	h.mu.Unlock()
	var acts Actions
	for _, p := range h.dp.Ports() {
		if p.No != k.InPort {
			acts = append(acts, Output(p.No))
		}
	}
	return acts, h.mask, nil
}

func (h *floodHandler) n() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}

// testDP returns a datapath with nports dummy ports numbered 1..n, without
// the background sweeper, closed at cleanup.
func testDP(t testing.TB, nports int, opts Options) (*Datapath, []*dummy.Port) {
	t.Helper()
	if opts.SweepInterval == 0 {
		opts.SweepInterval = -1
	}
	dp, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dp.Close() })
	ports := make([]*dummy.Port, nports)
	for i := range ports {
		ports[i] = dummy.New(fmt.Sprintf("p%d", i+1))
		no, err := dp.AddPort(ports[i].Name(), ports[i], 0)
		if err != nil {
			t.Fatal(err)
		}
		if no != uint32(i+1) {
			t.Fatalf("port %d got number %d", i+1, no)
		}
	}
	return dp, ports
}

// waitStats polls until cond holds for the datapath's stats.
func waitStats(t testing.TB, dp *Datapath, what string, cond func(Stats) bool) Stats {
	t.Helper()
	end := time.Now().Add(5 * time.Second)
	for {
		s := dp.Stats()
		if cond(s) {
			return s
		}
		if time.Now().After(end) {
			t.Fatalf("timeout waiting for %s; stats %+v", what, s)
		}
		time.Sleep(time.Millisecond)
	}
}

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
