// Package libvirt holds gvswitch's libvirt end-to-end test (tests only): it
// boots tiny guests under QEMU (TCG) through Debian's libvirt 9.0, with their
// NICs on gvswitchd through <virtualport type='openvswitch'/>, unmodified,
// and checks connectivity from inside the guests.
//
// The guests are Debian's cloud kernel with a busybox initramfs the test
// builds; their /init pings the addresses given on the kernel command line
// and prints "GVS PING <ip> OK|FAIL" to the serial console, which libvirt
// writes to a file the test reads.
//
// libvirtd runs privately: in its own mount namespace where /etc/libvirt,
// /run/libvirt, /var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt
// are test directories and /var/run/openvswitch is gvswitchd's private run
// directory. The host's libvirt and Open vSwitch state is never touched.
//
// Needs root, /dev/net/tun, libvirt-daemon-system, qemu-system-x86,
// linux-image-cloud-amd64, busybox-static and openvswitch-switch (for the
// reference ovs-vsctl); with CI=true a missing one fails the test, else it
// is skipped.
//
// Run: go test -count=1 -timeout 15m ./e2e/libvirt/
//
// Environment:
//
//	GVS_LIBVIRT_ALL=1   also run the scenarios that are known not to pass
//	                    yet (see knownBlocked in libvirt_test.go)
//	GVS_LIBVIRT_KEEP=1  keep the state directory (consoles, logs) of a
//	                    failed run
package libvirt
