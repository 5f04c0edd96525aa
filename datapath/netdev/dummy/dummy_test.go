package dummy

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/datapath/netdev"
	"github.com/gvswitch/gvswitch/datapath/packet"
)

func TestInjectRecvSend(t *testing.T) {
	p := New("d0")
	frames := make([][]byte, 40)
	for i := range frames {
		frames[i] = bytes.Repeat([]byte{byte(i)}, 60+i)
	}
	p.Inject(frames...)
	var b packet.Batch
	if err := p.Recv(&b); err != nil || b.N != packet.BatchSize {
		t.Fatalf("first Recv: %d, %v", b.N, err)
	}
	for i, pkt := range b.Packets() {
		if !bytes.Equal(pkt.Data(), frames[i]) || pkt.Headroom() != packet.Headroom {
			t.Fatalf("frame %d differs", i)
		}
	}
	if err := p.Send(&b); err != nil {
		t.Fatal(err)
	}
	if err := p.Recv(&b); err != nil || b.N != 8 {
		t.Fatalf("second Recv: %d, %v", b.N, err)
	}
	if got := p.WaitSent(32, time.Second); len(got) != 32 || !bytes.Equal(got[5], frames[5]) {
		t.Fatalf("sent %d", len(got))
	}
	s := p.Stats()
	if s.RxPackets != 40 || s.TxPackets != 32 || s.TxBytes == 0 {
		t.Fatalf("stats %+v", s)
	}
	if n := len(p.TakeSent()); n != 32 || len(p.Sent()) != 0 {
		t.Fatalf("TakeSent %d", n)
	}
	p.SetCapture(false)
	if err := p.Send(&b); err != nil || len(p.Sent()) != 0 || p.Stats().TxPackets != 40 {
		t.Fatal("capture off still captured or did not count")
	}
}

func TestRecvTimesOutAndClose(t *testing.T) {
	p := New("d1")
	var b packet.Batch
	if err := p.Recv(&b); err != nil || b.N != 0 {
		t.Fatalf("idle Recv: %d, %v", b.N, err)
	}
	done := make(chan error)
	go func() { done <- p.Recv(&b) }()
	p.Close()
	if err := <-done; err != nil && !errors.Is(err, netdev.ErrClosed) {
		t.Fatal(err)
	}
	if err := p.Recv(&b); !errors.Is(err, netdev.ErrClosed) {
		t.Fatalf("Recv after Close: %v", err)
	}
	if err := p.Send(&b); !errors.Is(err, netdev.ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
}

func TestRepeat(t *testing.T) {
	p := New("d2")
	p.SetRepeat([][]byte{{1, 2, 3}, {4, 5}})
	var b packet.Batch
	for round := 0; round < 2; round++ {
		if err := p.Recv(&b); err != nil || b.N != packet.BatchSize {
			t.Fatalf("Recv: %d, %v", b.N, err)
		}
		if !bytes.Equal(b.Pkts[0].Data(), []byte{1, 2, 3}) || !bytes.Equal(b.Pkts[1].Data(), []byte{4, 5}) {
			t.Fatal("wrong frames")
		}
	}
	if n := testing.AllocsPerRun(20, func() { _ = p.Recv(&b) }); n != 0 {
		t.Fatalf("%v allocs per Recv", n)
	}
	p.SetRepeat(nil)
	p.Close()
}
