// Command gvsbench runs gvswitch's end-to-end benchmark (package bench) as root:
// gvswitchd, the Linux bridge, Open vSwitch 3.1's userspace datapath and a plain
// veth pair side by side, with iperf3, trafgen, a UDP request/response probe and
// ovs-vsctl, and writes results.md, results.json and PNG plots.
//
//	gvsbench [-quick] [-out DIR] [-systems direct,bridge,gvswitchd,ovs] [-gvswitchd bin/gvswitchd]
//
// -quick (or GVS_BENCH_QUICK=1) does one short repetition of fewer cases (about
// three minutes). A system whose binaries are missing is skipped with the reason;
// with CI=true that is an error. Progress lines go to stderr.
//
// -gvswitchd-alt LABEL=BINARY[,...] adds more gvswitchd builds as the systems
// gvswitchd-LABEL (name them in -systems), measured in the same rounds as the
// others for A/B comparisons; the ratio columns stay gvswitchd's.
package main
