package ofproto

import (
	"fmt"
	"net"
	"sync"
	"time"

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

// Subscribe implements LinkSource. When the kernel drops events (the
// socket overflows during a burst) or the subscription fails, it
// subscribes again and calls fn with an empty name: the caller must then
// re-read every link it cares about.
func (netlinkSource) Subscribe(fn func(string, LinkInfo, bool)) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for first := true; ; first = false {
			ch := make(chan netlink.LinkUpdate, 1024)
			sub := make(chan struct{})
			err := netlink.LinkSubscribeWithOptions(ch, sub, netlink.LinkSubscribeOptions{ErrorCallback: func(error) {}})
			if err == nil {
				if !first {
					fn("", LinkInfo{}, false) // resync after a gap
				}
				drain(ch, done, fn)
			}
			close(sub)
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
}

// drain delivers updates until the subscription ends or done closes.
func drain(ch <-chan netlink.LinkUpdate, done <-chan struct{}, fn func(string, LinkInfo, bool)) {
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
}
