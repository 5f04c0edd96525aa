package tap_test

import (
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/datapath/netdev/afpacket"
	"github.com/gvswitch/gvswitch/datapath/netdev/internal/nettest"
	"github.com/gvswitch/gvswitch/datapath/netdev/tap"
	"github.com/gvswitch/gvswitch/datapath/packet"
)

// BenchmarkTapForward measures Recv on one TAP plus Send on another, per
// packet. The generator is an AF_PACKET port on the first TAP's kernel side,
// so every frame it sends is handed to the switch's descriptor; frames
// written to the second TAP enter its namespace's stack and are dropped
// there (unknown EtherType).
func BenchmarkTapForward(b *testing.B) {
	for _, size := range []int{60, 1514} {
		b.Run(map[int]string{60: "64B", 1514: "1518B"}[size], func(b *testing.B) {
			nsA, nsB := nettest.NewNS(b), nettest.NewNS(b)
			sfx := nettest.Suffix()
			var pa, pb *tap.Port
			var gen *afpacket.Port
			nsA.Do(b, func() (err error) {
				if pa, err = tap.Create("gva"+sfx, tap.Options{}); err != nil {
					return err
				}
				gen, err = afpacket.Open(pa.Name(), afpacket.Options{NoPromisc: true})
				return err
			})
			nsB.Do(b, func() (err error) {
				pb, err = tap.Create("gvb"+sfx, tap.Options{})
				return err
			})
			defer pa.Close()
			defer pb.Close()
			defer gen.Close()
			var frames packet.Batch
			for i := range packet.BatchSize {
				f := make([]byte, size)
				copy(f, net.HardwareAddr{0x02, 0, 0, 0, 0, 2})
				copy(f[6:], net.HardwareAddr{0x02, 0, 0, 0, 0, 1})
				binary.BigEndian.PutUint16(f[12:], 0x88b5)
				binary.BigEndian.PutUint32(f[14:], uint32(i))
				frames.Add(packet.FromFrame(f))
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if err := gen.Send(&frames); err != nil {
						return
					}
				}
			}()
			defer func() { close(stop); wg.Wait() }()
			var batch packet.Batch
			b.ReportAllocs()
			b.SetBytes(int64(size))
			b.ResetTimer()
			start := time.Now()
			for n := 0; n < b.N; {
				if err := pa.Recv(&batch); err != nil {
					b.Fatal(err)
				}
				if err := pb.Send(&batch); err != nil {
					b.Fatal(err)
				}
				n += batch.N
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pps")
		})
	}
}
