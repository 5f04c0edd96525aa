//go:build !linux

package main

import (
	"fmt"
	"log/slog"

	"github.com/gvswitch/gvswitch/datapath/netdev"
)

// opener has no devices off Linux.
type opener struct{ log *slog.Logger }

func (opener) Open(name, typ string) (netdev.Port, error) {
	return nil, fmt.Errorf("open %s: %w", name, netdev.ErrNotSupported)
}
