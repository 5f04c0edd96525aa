package testutil_test

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/pkttest"
	"github.com/gvswitch/gvswitch/internal/testutil"
)

// TestRawSocketVLAN sends tagged and untagged frames across a veth pair
// between two namespaces and checks they arrive byte for byte, tags included
// (the kernel strips a received tag into metadata; RawSocket restores it).
func TestRawSocketVLAN(t *testing.T) {
	a, b := testutil.NewNetNS(t), testutil.NewNetNS(t)
	v := testutil.NewVethPair(t, testutil.Veth{NS: a, PeerNS: b})
	sa := testutil.OpenRawSocket(t, a, v.Name)
	sb := testutil.OpenRawSocket(t, b, v.PeerName)
	src, dst := [6]byte(v.MAC), [6]byte(v.PeerMAC)
	frames := map[string][]byte{
		"untagged": pkttest.Frame(pkttest.Eth{Src: src, Dst: dst, Type: 0x88b5}, []byte("plain")),
		"802.1Q": pkttest.Frame(pkttest.Eth{Src: src, Dst: dst, Type: 0x88b5,
			VLANs: []pkttest.VLAN{{VID: 10, PCP: 3}}}, []byte("tagged")),
		"802.1ad": pkttest.Frame(pkttest.Eth{Src: src, Dst: dst, Type: 0x88b5,
			VLANs: []pkttest.VLAN{{TPID: pkttest.TPID8021AD, VID: 100}, {VID: 10}}}, []byte("qinq")),
	}
	for name, f := range frames {
		t.Run(name, func(t *testing.T) {
			if err := sa.Send(f); err != nil {
				t.Fatal(err)
			}
			got := sb.Expect(t, 5*time.Second, func(g []byte) bool {
				return len(g) > 12 && bytes.Equal(g[6:12], src[:]) && binary.BigEndian.Uint16(g[12:]) != 0x86dd
			})
			if !bytes.Equal(got, f) {
				t.Fatalf("received\n% x\nsent\n% x", got, f)
			}
		})
	}
	// The sender's own socket does not see its outgoing frames.
	sa.ExpectNone(t, 50*time.Millisecond, func(g []byte) bool { return bytes.Equal(g[6:12], src[:]) })
}
