//go:build !linux

package afpacket

import (
	"fmt"

	"github.com/gvswitch/gvswitch/datapath/netdev"
	"github.com/gvswitch/gvswitch/datapath/offload"
	"github.com/gvswitch/gvswitch/datapath/packet"
)

var _ netdev.Port = (*Port)(nil)

// Port is unavailable off Linux.
type Port struct{}

// Open reports netdev.ErrNotSupported off Linux.
func Open(ifname string, opts Options) (*Port, error) {
	return nil, fmt.Errorf("open afpacket %s: %w", ifname, netdev.ErrNotSupported)
}

// Name implements netdev.Port.
func (p *Port) Name() string { return "" }

// Recv implements netdev.Port.
func (p *Port) Recv(b *packet.Batch) error { return netdev.ErrNotSupported }

// Send implements netdev.Port.
func (p *Port) Send(b *packet.Batch) error { return netdev.ErrNotSupported }

// BatchSize implements netdev.Port.
func (p *Port) BatchSize() int { return packet.BatchSize }

// Stats implements netdev.Port.
func (p *Port) Stats() netdev.Stats { return netdev.Stats{} }

// Close implements netdev.Port.
func (p *Port) Close() error { return nil }

// VnetHdr reports false off Linux.
func (p *Port) VnetHdr() bool { return false }

// Caps reports no offloads off Linux.
func (p *Port) Caps() offload.Caps { return 0 }

// OffloadErr returns nil off Linux.
func (p *Port) OffloadErr() error { return nil }

// MTU returns 0 off Linux.
func (p *Port) MTU() int { return 0 }

// Ifindex returns 0 off Linux.
func (p *Port) Ifindex() int { return 0 }

// RxMode returns the default mode off Linux.
func (p *Port) RxMode() RxMode { return defaultRxMode }
