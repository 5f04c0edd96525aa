package datapath

import (
	"errors"
	"testing"

	"github.com/gvswitch/gvswitch/datapath/netdev"
	"github.com/gvswitch/gvswitch/datapath/netdev/dummy"
	"github.com/gvswitch/gvswitch/datapath/packet"
)

// TestDetachPort: DetachPort takes the port out of the table and deletes its
// flows at once but leaves the device open; finish closes it. Execute no
// longer reaches the port in between.
func TestDetachPort(t *testing.T) {
	dp, ports := testDP(t, 2, Options{})
	var k FlowKey
	ExtractFrame(udpFrame(1, 2, 1, 1), 2, &k)
	m := l2Mask()
	if err := dp.FlowPut(&k, &m, Actions{Output(1)}); err != nil {
		t.Fatal(err)
	}
	finish, err := dp.DetachPort(2)
	if err != nil {
		t.Fatal(err)
	}
	if ps := dp.Ports(); len(ps) != 1 || ps[0].No != 1 {
		t.Fatalf("ports after DetachPort %+v", ps)
	}
	if s := dp.Stats(); s.Flows != 0 {
		t.Fatalf("flows of the detached port left: %+v", s)
	}
	if _, err := dp.DetachPort(2); !errors.Is(err, ErrNoSuchPort) {
		t.Fatalf("second DetachPort: %v", err)
	}
	// Still open: a Send from outside the datapath works.
	var b packet.Batch
	b.Add(packet.FromFrame(udpFrame(1, 2, 1, 1)))
	if err := ports[1].Send(&b); err != nil {
		t.Fatalf("detached port closed before finish: %v", err)
	}
	_ = dp.Execute(packet.FromFrame(udpFrame(1, 2, 1, 1)), Actions{Output(2)})
	if n := ports[1].Stats().TxPackets; n != 1 {
		t.Errorf("detached port sent %d frames, want only the test's own 1", n)
	}
	if err := finish(); err != nil {
		t.Fatal(err)
	}
	if err := ports[1].Send(&b); !errors.Is(err, netdev.ErrClosed) {
		t.Fatalf("Send after finish: %v, want ErrClosed", err)
	}
	// The number is free again.
	if no, err := dp.AddPort("p2b", ports[1], 2); err != nil || no != 2 {
		t.Fatalf("re-add as 2: %d %v", no, err)
	}
}

// TestAddPortDeferred: a port added without its poll goroutine is in the
// table but receives only after start; one never started can be deleted.
func TestAddPortDeferred(t *testing.T) {
	dp, ports := testDP(t, 1, Options{})
	p2 := dummy.New("p2")
	no, start, err := dp.AddPortDeferred("p2", p2, 0)
	if err != nil || no != 2 {
		t.Fatalf("AddPortDeferred: %d %v", no, err)
	}
	if ps := dp.Ports(); len(ps) != 2 {
		t.Fatalf("ports %+v", ps)
	}
	// Flooded from p1 to p2 by a flow: p2 sends although it does not poll.
	var k FlowKey
	ExtractFrame(udpFrame(1, 2, 1, 1), 1, &k)
	m := l2Mask()
	if err := dp.FlowPut(&k, &m, Actions{Output(2)}); err != nil {
		t.Fatal(err)
	}
	ports[0].Inject(udpFrame(1, 2, 1, 1))
	waitStats(t, dp, "p1 rx", func(s Stats) bool { return p2.Stats().TxPackets == 1 })
	// A frame arriving on p2 waits until start.
	p2.Inject(udpFrame(2, 1, 1, 1))
	start()
	start() // idempotent
	waitStats(t, dp, "p2 rx after start", func(Stats) bool { return p2.Stats().RxPackets == 1 })

	never := dummy.New("p3")
	no3, _, err := dp.AddPortDeferred("p3", never, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := dp.DelPort(no3); err != nil {
		t.Fatalf("DelPort of a port never started: %v", err)
	}
}
