// Package pkttest builds Ethernet frames for tests: 802.1Q and 802.1ad tag
// stacks, ARP, IPv4 (with fragments), IPv6, UDP, TCP and ICMP/ICMPv6 echo,
// with correct lengths and checksums. Tests use it instead of hand-written
// hex (STYLE rule 11).
//
// Builders take small option structs whose zero values are sensible (TTL
// 64, TCP window 65535, TPID 0x8100), serialise with gopacket (which is for
// tests and the slow path, never the datapath), and return a fresh []byte
// the caller owns. Frames are padded to the 60-byte Ethernet minimum unless
// Eth.NoPad is set (a veth or TAP frame from Linux is not padded). Invalid
// options, such as an IPv6 address given to an IPv4 builder, panic: the
// builders are called with constants written in tests.
//
// Decode parses a frame back with gopacket for assertions.
//
// pkttest is imported only from _test.go files and imports nothing from
// the module.
package pkttest
