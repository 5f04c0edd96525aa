// Package tap is the netdev provider for TAP devices whose file descriptor
// gvswitchd holds: ports of type "tap", "internal", and the bridge-local
// port. Create makes a new device (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR), sets its
// MAC and MTU and brings it up, or with Options.Down leaves it down as Open
// vSwitch creates internal ports (a down device sends nothing, not even IPv6
// router solicitations or MLD reports, until the administrator brings it
// up); the device lives as long as the port and is removed by Close. Open
// attaches to an existing persistent TAP. Send to a down device costs one
// refused write per batch: the kernel builds the skb before it answers EIO,
// so the rest of the batch is counted as dropped without being written (a
// flood reaches the bridge-local port, down unless someone set it up, with
// every frame).
//
// Create's cost does not depend on how many links the namespace holds: no
// link dump, the name check is TUNSETIFF's (IFF_TUN_EXCL: EBUSY when the name
// is taken, reported as EEXIST), and MAC, MTU and the up flag go in one
// RTM_SETLINK addressed by name. Exists is one SIOCGIFINDEX. Measured on a
// loaded 2-CPU VM (BenchmarkCreate, BenchmarkCreate1000): 0.5-1.2 ms per
// Create with 0 or 1000 other links, 0.3 ms for the 1000th of a bulk add;
// with the former link dump per call it was 23-54 ms at 1000 links, 9 ms for
// the 1000th of a bulk add. Close costs 15-35 ms whatever the count: the
// kernel's unregister waits for RCU grace periods. Those waits overlap when
// ports are closed concurrently (Close may be called from any goroutine):
// removing 200 TAPs took 16.6 ms per Close one at a time, 2.7 ms with 8
// goroutines closing, 0.9 ms with 64.
//
// A TAP that another process holds, such as the vnetN devices libvirt
// creates for qemu, cannot be attached: libvirt's taps are not persistent and
// belong to qemu's descriptor, so TUNSETIFF fails with EBUSY. Open then falls
// back to an AF_PACKET socket on the device (datapath/netdev/afpacket), which
// is how a KVM host's VM ports are switched, and what OVS's "system" ports
// do.
//
// Offloads: the descriptor carries a virtio-net header on every frame, and
// TUNSETOFFLOAD (TUN_F_CSUM|TUN_F_TSO4|TUN_F_TSO6|TUN_F_TSO_ECN, plus
// TUN_F_USO4|TUN_F_USO6 where the kernel has them) lets the kernel hand over
// checksum-partial and unsegmented TSO frames. A refused offload is logged
// once and the port continues with what the kernel accepted.
//
// I/O: a TAP has no batch system call. Recv reads frames with non-blocking
// read(2) until EAGAIN or a full batch, into a slab allocated once per port,
// and calls poll(2) only when nothing is ready. Send writes one frame per
// writev(2) (virtio-net header plus frame), serialised per batch by a mutex.
//
// Goroutines: Recv runs only on the port's poll goroutine; Send, Stats and
// Close may be called from anywhere; Close wakes a blocked Recv through an
// eventfd.
//
// Devices are created in the calling thread's network namespace; a caller in
// another namespace locks its goroutine to the thread first.
//
// This package imports datapath/packet, datapath/netdev, datapath/offload
// and datapath/netdev/afpacket from the switch.
package tap
