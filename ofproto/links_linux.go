package ofproto

import (
	"fmt"
	"net"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// netlinkSource is LinkSource over rtnetlink.
type netlinkSource struct{}

func linkInfo(l netlink.Link) LinkInfo {
	a := l.Attrs()
	return LinkInfo{
		IfIndex: a.Index,
		MAC:     a.HardwareAddr.String(),
		MTU:     a.MTU,
		AdminUp: a.Flags&net.FlagUp != 0,
		LinkUp:  a.RawFlags&unix.IFF_LOWER_UP != 0,
	}
}

func (netlinkSource) Get(name string) (LinkInfo, error) {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return LinkInfo{}, fmt.Errorf("link %s: %w", name, err)
	}
	return linkInfo(l), nil
}

func (netlinkSource) SetMTU(name string, mtu int) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("link %s: %w", name, err)
	}
	if err := netlink.LinkSetMTU(l, mtu); err != nil {
		return fmt.Errorf("set mtu of %s: %w", name, err)
	}
	return nil
}

func (netlinkSource) Subscribe(fn func(string, LinkInfo, bool)) func() {
	ch := make(chan netlink.LinkUpdate, 256)
	done := make(chan struct{})
	var wg sync.WaitGroup
	if err := netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{ErrorCallback: func(error) {}}); err != nil {
		return func() {}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case u, ok := <-ch:
				if !ok {
					return
				}
				if u.Link == nil || u.Link.Attrs() == nil {
					continue
				}
				fn(u.Link.Attrs().Name, linkInfo(u.Link), u.Header.Type == unix.RTM_DELLINK)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
}
