package ofproto

import (
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// netlinkSource is LinkSource over rtnetlink. Its requests go through a
// handle with a socket timeout, so that a lost reply can never stall the
// main loop.
type netlinkSource struct {
	h *netlink.Handle
}

// netlinkTimeout bounds one rtnetlink request.
const netlinkTimeout = 5 * time.Second

func newNetlinkSource() LinkSource {
	h, err := netlink.NewHandle()
	if err != nil {
		return netlinkSource{}
	}
	_ = h.SetSocketTimeout(netlinkTimeout)
	return netlinkSource{h: h}
}

// Close releases the request socket.
func (s netlinkSource) Close() {
	if s.h != nil {
		s.h.Close()
	}
}

func (s netlinkSource) linkByName(name string) (netlink.Link, error) {
	if s.h != nil {
		return s.h.LinkByName(name)
	}
	return netlink.LinkByName(name)
}

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

func (s netlinkSource) Get(name string) (LinkInfo, error) {
	l, err := s.linkByName(name)
	if err != nil {
		return LinkInfo{}, fmt.Errorf("link %s: %w", name, err)
	}
	return linkInfo(l), nil
}

// List reads every device of the namespace with one netlink dump.
func (s netlinkSource) List() (map[string]LinkInfo, error) {
	list := netlink.LinkList
	if s.h != nil {
		list = s.h.LinkList
	}
	links, err := list()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	out := make(map[string]LinkInfo, len(links))
	for _, l := range links {
		out[l.Attrs().Name] = linkInfo(l)
	}
	return out, nil
}

func (s netlinkSource) SetMTU(name string, mtu int) error {
	l, err := s.linkByName(name)
	if err != nil {
		return fmt.Errorf("link %s: %w", name, err)
	}
	set := netlink.LinkSetMTU
	if s.h != nil {
		set = s.h.LinkSetMTU
	}
	if err := set(l, mtu); err != nil {
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
