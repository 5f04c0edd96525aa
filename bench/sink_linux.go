package bench

import (
	"errors"
	"fmt"
	"net"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
)

// The sink receiver (workloads with Sink set) drops every frame at the
// receiving host's eth0 ingress with a two-instruction BPF program on the
// tcx hook, so no IP stack runs for it. On veths the receiver's ingress work
// runs in the context of whoever transmitted into the veth: inside the
// switch's sendmmsg for a userspace switch, in the generator's softirq for
// the Linux bridge. Without a sink a switch's CPU also pays the receiving
// host's IP input (the bench sends to an address nobody has, so each frame
// costs a route lookup and an ICMP error decision); with it only the veth
// and the receive dispatch up to the tcx hook remain. The receiver's eth0
// rx counter is taken by the veth transmit, before the hook, so it counts
// the dropped frames the same way.

// tcActShot is TC_ACT_SHOT: drop the packet.
const tcActShot = 2

// sinkProg is the loaded drop program, shared by every attachment.
type sinkProg struct{ prog *ebpf.Program }

func newSinkProg() (*sinkProg, error) {
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:    "gvsb_sink",
		Type:    ebpf.SchedCLS,
		License: "GPL",
		Instructions: asm.Instructions{
			asm.Mov.Imm(asm.R0, tcActShot),
			asm.Return(),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("load sink program: %w", err)
	}
	return &sinkProg{prog: p}, nil
}

func (s *sinkProg) close() {
	if s != nil && s.prog != nil {
		_ = s.prog.Close()
	}
}

// attach puts the drop program on dev's ingress in namespace ns; closing the
// returned link removes it.
func (s *sinkProg) attach(ns netNS, dev string) (link.Link, error) {
	var l link.Link
	err := ns.do(func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		l, err = link.AttachTCX(link.TCXOptions{Interface: ifi.Index, Program: s.prog, Attach: ebpf.AttachTCXIngress})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sink on %s %s: %w", ns, dev, err)
	}
	return l, nil
}

// attachSinks attaches the drop program to eth0 of every host in hs and
// returns a function that detaches them all.
func (s *sinkProg) attachSinks(hs []*host) (func() error, error) {
	var ls []link.Link
	detach := func() error {
		var errs []error
		for _, l := range ls {
			errs = append(errs, l.Close())
		}
		return errors.Join(errs...)
	}
	for _, h := range hs {
		l, err := s.attach(h.ns, "eth0")
		if err != nil {
			return nil, errors.Join(err, detach())
		}
		ls = append(ls, l)
	}
	return detach, nil
}
