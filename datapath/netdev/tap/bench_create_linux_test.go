package tap_test

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gvswitch/gvswitch/datapath/netdev/internal/nettest"
	"github.com/gvswitch/gvswitch/datapath/netdev/tap"
)

// fillLinks gives the calling thread's namespace n extra TAP devices, held
// by bare descriptors (no port, no buffers), and returns a func closing them.
func fillLinks(n int, prefix string) (func(), error) {
	fds := make([]int, 0, n)
	closeAll := func() {
		for _, fd := range fds {
			_ = unix.Close(fd)
		}
	}
	for i := range n {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			closeAll()
			return nil, err
		}
		fds = append(fds, fd)
		ifr, err := unix.NewIfreq(fmt.Sprintf("%s%d", prefix, i))
		if err != nil {
			closeAll()
			return nil, err
		}
		ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			closeAll()
			return nil, fmt.Errorf("tunsetiff: %w", err)
		}
	}
	return closeAll, nil
}

// BenchmarkCreate measures one Create plus Close of an internal-port-like
// TAP (MAC and MTU set) in a namespace that already holds n other links.
// create-ms and close-ms split the op.
func BenchmarkCreate(b *testing.B) {
	for _, n := range []int{0, 1000} {
		b.Run(fmt.Sprintf("existing=%d", n), func(b *testing.B) {
			ns := nettest.NewNS(b)
			sfx := nettest.Suffix()
			ns.Do(b, func() error {
				release, err := fillLinks(n, "gvf"+sfx+"-")
				if err != nil {
					return err
				}
				defer release()
				opts := tap.Options{MAC: []byte{0x02, 0x47, 0x56, 0, 0, 1}, MTU: 1500}
				var tc, tx time.Duration
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					t0 := time.Now()
					p, err := tap.Create(fmt.Sprintf("gvc%s-%d", sfx, i), opts)
					if err != nil {
						return err
					}
					t1 := time.Now()
					_ = p.Close()
					tc += t1.Sub(t0)
					tx += time.Since(t1)
				}
				b.ReportMetric(float64(tc.Microseconds())/1e3/float64(b.N), "create-ms")
				b.ReportMetric(float64(tx.Microseconds())/1e3/float64(b.N), "close-ms")
				return nil
			})
		})
	}
}

// BenchmarkCreate1000 is a bulk add: 1000 TAPs created one after another
// (the n-th Create sees n-1 existing links), then all closed. Run it with
// -benchtime=1x.
func BenchmarkCreate1000(b *testing.B) {
	const n = 1000
	ns := nettest.NewNS(b)
	sfx := nettest.Suffix()
	ns.Do(b, func() error {
		opts := tap.Options{MAC: []byte{0x02, 0x47, 0x56, 0, 0, 1}, MTU: 1500}
		ports := make([]*tap.Port, 0, n)
		defer func() {
			for _, p := range ports {
				_ = p.Close()
			}
		}()
		var tc, tx, last time.Duration
		for b.Loop() {
			for i := range n {
				t0 := time.Now()
				p, err := tap.Create(fmt.Sprintf("gvk%s-%d", sfx, i), opts)
				if err != nil {
					return err
				}
				d := time.Since(t0)
				tc += d
				if i == n-1 {
					last += d
				}
				ports = append(ports, p)
			}
			t1 := time.Now()
			for _, p := range ports {
				_ = p.Close()
			}
			ports = ports[:0]
			tx += time.Since(t1)
		}
		b.ReportMetric(float64(tc.Microseconds())/1e3/float64(b.N*n), "create-ms")
		b.ReportMetric(float64(last.Microseconds())/1e3/float64(b.N), "last-create-ms")
		b.ReportMetric(float64(tx.Microseconds())/1e3/float64(b.N*n), "close-ms")
		return nil
	})
}
