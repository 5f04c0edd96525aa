package datapath

import (
	"bytes"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/pkttest"
)

// TestPipelineTable injects traffic patterns on port 1 of a 4-port
// datapath whose slow path floods to every other port with NORMAL's L2
// mask, and checks what every port sends, the lookup counters and the
// megaflows installed.
func TestPipelineTable(t *testing.T) {
	arp := pkttest.ARPRequest(mac(1), ip4a, ip4b)
	udp := udpFrame(1, 2, 10, 20)
	udpOtherPorts := udpFrame(1, 2, 11, 21) // same L2 flow
	tagged := udpFrame(1, 2, 10, 20, pkttest.VLAN{VID: 10})
	udp6 := pkttest.UDP6(eth(), pkttest.IPv6{Src: ip6a, Dst: ip6b}, pkttest.UDP{Src: 1, Dst: 2})
	runt := []byte{1, 2, 3, 4, 5}
	for _, tt := range []struct {
		name          string
		frames        [][]byte
		hits, misses  uint64
		flows, upcall int
	}{
		{"one frame", [][]byte{udp}, 0, 1, 1, 1},
		{"same flow twice", [][]byte{udp, udp}, 1, 1, 1, 1},
		{"L4 change hits the L2 megaflow", [][]byte{udp, udpOtherPorts, udpOtherPorts}, 2, 1, 1, 1},
		{"eth_type is always matched", [][]byte{udp, arp, udp6}, 0, 3, 3, 3},
		{"VLAN is part of the megaflow", [][]byte{udp, tagged, tagged}, 1, 2, 2, 2},
		{"runt frames still flood", [][]byte{runt, runt}, 1, 1, 1, 1},
		{"a batch of 100", func() [][]byte {
			fs := make([][]byte, 100)
			for i := range fs {
				fs[i] = udpFrame(1, 2, uint16(i), 20)
			}
			return fs
		}(), 99, 1, 1, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dp, ports := testDP(t, 4, Options{})
			h := &floodHandler{dp: dp, mask: l2Mask()}
			dp.SetUpcallHandler(h)
			// Inject one by one, so that each frame sees the flows of the
			// ones before it even if they would share a batch.
			for i, f := range tt.frames {
				ports[0].Inject(f)
				ports[3].WaitSent(i+1, 5*time.Second)
			}
			for pi, p := range ports {
				got := p.Sent()
				if pi == 0 {
					if len(got) != 0 {
						t.Fatalf("in_port got %d frames back", len(got))
					}
					continue
				}
				if len(got) != len(tt.frames) {
					t.Fatalf("port %d sent %d frames, want %d", pi+1, len(got), len(tt.frames))
				}
				for i := range got {
					if !bytes.Equal(got[i], tt.frames[i]) {
						t.Fatalf("port %d frame %d differs", pi+1, i)
					}
				}
			}
			s := waitStats(t, dp, "lookups", func(s Stats) bool { return s.Hit+s.Missed == uint64(len(tt.frames)) })
			if s.Hit != tt.hits || s.Missed != tt.misses || s.Lost != 0 || s.Flows != uint64(tt.flows) || h.n() != tt.upcall {
				t.Fatalf("stats %+v, upcalls %d", s, h.n())
			}
			var pkts uint64
			for _, e := range dp.FlowDump() {
				pkts += e.Stats.Packets
				if e.Key.InPort != 1 || e.Key.TpSrc != 0 {
					t.Fatalf("flow not masked to L2: %+v", e.Key)
				}
			}
			if pkts != uint64(len(tt.frames)) {
				t.Fatalf("flows counted %d packets", pkts)
			}
		})
	}
}
