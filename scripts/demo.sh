#!/bin/sh
# gvswitch demo: start gvswitchd in a private OVS_RUNDIR, plug two network
# namespaces into bridge br-demo with ovs-vsctl (Debian's, or ./bin/gvsctl:
# VSCTL=./bin/gvsctl), ping both ways through the userspace switch, show the MAC table
# and the datapath flows, and clean everything up. Run as root: `make demo`.
set -eu

cd "$(dirname "$0")/.."
BIN=${BINDIR:-bin}
[ "$(id -u)" = 0 ] || { echo "demo: run as root (network namespaces, veths, TAPs)" >&2; exit 1; }
if [ ! -x "$BIN/gvswitchd" ]; then
	echo "demo: building"
	mkdir -p "$BIN"
	go build -o "$BIN/gvswitchd" ./cmd/gvswitchd
	go build -o "$BIN/gvs-appctl" ./cmd/gvs-appctl
fi
# VSCTL=./bin/gvsctl picks our own CLI; by default Debian's ovs-vsctl when
# installed, else ./bin/gvsctl.
if [ -z "${VSCTL:-}" ]; then
	VSCTL=$(command -v ovs-vsctl || true)
	[ -n "$VSCTL" ] || { [ -x "$BIN/gvsctl" ] && VSCTL="$BIN/gvsctl"; } || true
fi
if command -v ovs-appctl >/dev/null 2>&1; then APPCTL=ovs-appctl; else APPCTL="$BIN/gvs-appctl"; fi
[ -n "$VSCTL" ] || { echo "demo: need ovs-vsctl or ./bin/gvsctl" >&2; exit 1; }

TAG=$$
DIR=$(mktemp -d /tmp/gvs-demo-XXXXXX)
export OVS_RUNDIR=$DIR OVS_DBDIR=$DIR OVS_LOGDIR=$DIR
BR=br-demo$TAG
BR=$(printf %.15s "$BR")
NS1=gvs-demo-a-$TAG NS2=gvs-demo-b-$TAG
V1=gvda$TAG V2=gvdb$TAG
PID=

cleanup() {
	set +e
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	ip netns del "$NS1" 2>/dev/null
	ip netns del "$NS2" 2>/dev/null
	ip link del "$V1" 2>/dev/null
	ip link del "$V2" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "starting gvswitchd (embedded OVSDB server) in $DIR"
"$BIN/gvswitchd" --log-file >"$DIR/gvswitchd.out" 2>&1 &
PID=$!
i=0
until [ -S "$DIR/db.sock" ] && [ -f "$DIR/ovs-vswitchd.pid" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "gvswitchd did not start:"; cat "$DIR/gvswitchd.out"; exit 1; }
	sleep 0.05
done

step "two hosts in network namespaces, on veths"
for n in 1 2; do
	eval ns=\$NS$n v=\$V$n
	ip netns add "$ns"
	ip link add "$v" type veth peer name eth0 netns "$ns"
	ip -n "$ns" addr add "10.77.0.$n/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set lo up
	ip link set "$v" up
	echo "  $ns: eth0 10.77.0.$n, switch side $v"
done

step "$VSCTL add-br $BR; add-port (each waits for gvswitchd to apply it)"
VS="$VSCTL --db=unix:$DIR/db.sock --timeout=5"
$VS add-br "$BR"
$VS add-port "$BR" "$V1"
$VS add-port "$BR" "$V2"
$VS show

step "ping both ways through the switch"
ip netns exec "$NS1" ping -c 3 -i 0.2 -W 2 10.77.0.2
ip netns exec "$NS2" ping -c 3 -i 0.2 -W 2 10.77.0.1

step "$APPCTL fdb/show $BR"
$APPCTL fdb/show "$BR"
step "$APPCTL dpctl/dump-flows"
$APPCTL dpctl/dump-flows
step "$APPCTL dpif/show"
$APPCTL dpif/show

step "cleaning up"
