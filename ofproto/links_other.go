//go:build !linux

package ofproto

import (
	"errors"

	"github.com/gvswitch/gvswitch/datapath/netdev"
)

// netlinkSource has no kernel links off Linux.
type netlinkSource struct{}

func newNetlinkSource() LinkSource { return netlinkSource{} }

func (netlinkSource) Get(name string) (LinkInfo, error) {
	return LinkInfo{}, errors.Join(errors.New("link "+name), netdev.ErrNotSupported)
}

func (netlinkSource) Subscribe(func(string, LinkInfo, bool)) func() { return func() {} }

func (netlinkSource) SetMTU(name string, _ int) error {
	return errors.Join(errors.New("link "+name), netdev.ErrNotSupported)
}
