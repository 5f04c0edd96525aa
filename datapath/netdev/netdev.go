// Package netdev defines the contract between the datapath and packet I/O
// providers: a Port receives and sends batches of frames. Providers live in
// subpackages (afpacket, tap, internal, dummy, later afxdp) and know nothing
// of flows.
//
// Threading: the datapath runs one poll goroutine per port, locked to its OS
// thread, that calls Recv in a loop. Send may be called from any poll
// goroutine (a frame received on one port leaves through another), so a
// provider serialises its transmit side internally, per batch, never per
// packet.
package netdev

import (
	"errors"

	"github.com/gvswitch/gvswitch/datapath/packet"
)

// Errors returned by Port methods.
var (
	// ErrClosed is returned by Recv and Send once Close has been called.
	ErrClosed = errors.New("port closed")
	// ErrNotSupported is wrapped by errors for features the kernel or device
	// lacks. It is the project's single not-supported sentinel.
	ErrNotSupported = errors.New("not supported")
)

// Port is one attached device.
type Port interface {
	// Name returns the device name, e.g. "vnet0".
	Name() string

	// Recv fills b (after resetting it) with up to packet.BatchSize frames
	// from the port's own buffers. It blocks until at least one frame is
	// available, a poll interval passes (returning b.N == 0, nil; a provider
	// may lengthen the interval while the port stays idle, so callers must
	// not count on it: Close is what ends a wait), or the port is closed
	// (ErrClosed). The frames stay valid until the next
	// Recv call on this port; only the port's poll goroutine calls Recv.
	Recv(b *packet.Batch) error

	// Send transmits every packet in b. It does not keep the packets after it
	// returns: the caller still owns them and may send them again elsewhere.
	// A frame the device refuses is counted as a tx drop, not returned as an
	// error; errors mean the port itself failed.
	Send(b *packet.Batch) error

	// BatchSize is how many frames one Recv can return; fixed for the port's life.
	BatchSize() int

	// Stats returns the port's counters.
	Stats() Stats

	// Close stops the port; a blocked Recv returns ErrClosed.
	Close() error
}

// Stats are a port's counters as Interface.statistics names them.
type Stats struct {
	RxPackets, RxBytes, RxDropped, RxErrors uint64
	TxPackets, TxBytes, TxDropped, TxErrors uint64
}

// OffloadCaps is implemented by ports that exchange virtio-net headers with
// the kernel (packet.Offload filled on receive, honoured on send). A port
// without it gets only fully checksummed, unsegmented frames, and the
// datapath segments or checksums in software before sending to it.
type OffloadCaps interface {
	// VnetHdr reports whether the port carries virtio-net headers.
	VnetHdr() bool
}
