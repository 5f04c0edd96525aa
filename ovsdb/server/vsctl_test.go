package server_test

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gvswitch/gvswitch/internal/ovstest"
	"github.com/gvswitch/gvswitch/ovsdb/ovsdbtest"
)

var (
	uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	logRE  = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT[\d:.]+Z\|\d+\|`)
)

// normalizer replaces UUIDs by their order of first appearance, so that
// outputs of two servers that generate different UUIDs compare equal.
type normalizer map[string]string

func (n normalizer) apply(s string) string {
	s = logRE.ReplaceAllString(s, "LOG|")
	return uuidRE.ReplaceAllStringFunc(s, func(u string) string {
		if v, ok := n[u]; ok {
			return v
		}
		v := "<uuid" + strconv.Itoa(len(n)) + ">"
		n[u] = v
		return v
	})
}

// unordered compares outputs whose row order depends on UUIDs (list, find,
// show): UUIDs become a placeholder and lines are sorted.
func unordered(s string) string {
	s = logRE.ReplaceAllString(s, "LOG|")
	s = uuidRE.ReplaceAllString(s, "<uuid>")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		// The --format=json/table outputs put several rows on one line.
		if strings.HasPrefix(l, "{") {
			lines[i] = sortJSONRows(l)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func sortJSONRows(l string) string {
	i := strings.Index(l, `"data":[`)
	if i < 0 {
		return l
	}
	rows := strings.Split(l[i:], "],[")
	sort.Strings(rows)
	return l[:i] + strings.Join(rows, "],[")
}

// vsctlScript is run against Debian's ovsdb-server and against ours; every
// command's stdout, stderr and exit status must match. A leading "~" marks
// commands whose row order depends on UUIDs.
var vsctlScript = [][]string{
	{"init"},
	{"show"},
	{"add-br", "br0"},
	{"add-br", "br0"},
	{"--may-exist", "add-br", "br0"},
	{"add-br", "br1", "br0", "10"},
	{"add-br", "br2", "br0", "4096"},
	{"br-exists", "br1"},
	{"br-to-vlan", "br1"},
	{"br-to-parent", "br1"},
	{"list-br"},
	{"add-port", "br0", "p1"},
	{"add-port", "br0", "p1"},
	{"--may-exist", "add-port", "br0", "p1"},
	{"add-port", "nobr", "p9"},
	{"add-port", "br0", "p2", "tag=5", "--", "set", "Interface", "p2", "type=internal", "external-ids:vm=x"},
	{"add-port", "br1", "p3"},
	{"add-bond", "br0", "bond0", "a1", "a2", "--", "set", "Port", "bond0", "bond_mode=balance-slb"},
	{"list-ports", "br0"},
	{"list-ports", "br1"},
	{"list-ifaces", "br0"},
	{"iface-to-br", "a1"},
	{"port-to-br", "p3"},
	{"get", "Port", "p2", "tag"},
	{"get", "Interface", "p2", "external_ids:vm", "type"},
	{"get", "Interface", "p2", "external_ids:nokey"},
	{"--if-exists", "get", "Interface", "p2", "external_ids:nokey"},
	{"get", "Interface", "p2", "nocolumn"},
	{"get", "Bridge", "nobr", "name"},
	{"set", "Bridge", "br0", "fail_mode=secure", "other_config:a=1", "other_config:b=2"},
	{"set", "Bridge", "br0", "fail_mode=bogus"},
	{"set", "Bridge", "br0", "flood_vlans=5000"},
	{"get", "Bridge", "br0", "fail_mode", "other_config"},
	{"add", "Bridge", "br0", "flood_vlans", "1", "2", "3"},
	{"remove", "Bridge", "br0", "flood_vlans", "2"},
	{"remove", "Bridge", "br0", "other_config", "a"},
	{"add", "Bridge", "br0", "other_config", "c=3"},
	{"get", "Bridge", "br0", "flood_vlans", "other_config"},
	{"clear", "Bridge", "br0", "flood_vlans"},
	{"get", "Bridge", "br0", "flood_vlans"},
	{"--id=@q", "create", "QoS", "type=linux-htb", "--", "set", "Port", "p1", "qos=@q"},
	{"~", "list", "QoS"},
	{"--columns=type", "list", "QoS"},
	{"--", "--id=@c", "create", "Controller", `target="tcp:127.0.0.1:6653"`, "--", "set", "Bridge", "br0", "controller=@c"},
	{"get-controller", "br0"},
	{"del-controller", "br0"},
	{"set-fail-mode", "br0", "standalone"},
	{"get-fail-mode", "br0"},
	{"del-fail-mode", "br0"},
	{"set-manager", "ptcp:6641"},
	{"get-manager"},
	{"del-manager"},
	{"~", "find", "Interface", "type=internal"},
	{"--columns=name", "find", "Port", "tag=5"},
	{"~", "--format=csv", "list", "Bridge"},
	{"~", "--format=json", "--columns=name,ports", "list", "Bridge"},
	{"~", "--format=html", "--columns=name", "list", "Bridge"},
	{"~", "--format=table", "--columns=name,fail_mode", "list", "Bridge"},
	{"~", "--format=list", "--columns=name", "list", "Port"},
	{"~", "--bare", "--columns=name", "list", "Interface"},
	{"~", "--format=json", "--data=json", "list", "Interface", "p2"},
	{"~", "--data=bare", "--format=csv", "list", "Interface", "p2"},
	{"~", "--format=table", "--data=json", "--columns=name,external_ids", "list", "Interface", "p2"},
	{"wait-until", "Bridge", "br0", "fail_mode=[]"},
	{"~", "show"},
	{"--if-exists", "del-port", "br0", "nope"},
	{"del-port", "br0", "nope"},
	{"del-port", "br0", "p1"},
	{"add-port", "br0", "p1"},
	{"del-port", "p3"},
	{"destroy", "QoS", "@nonexistent"},
	{"--all", "destroy", "QoS"},
	{"~", "list", "QoS"},
	{"del-br", "br1"},
	{"del-br", "nobr"},
	{"--if-exists", "del-br", "nobr"},
	{"~", "show"},
	{"emer-reset"},
	{"~", "show"},
	{"del-br", "br0"},
	{"list-br"},
	{"~", "list", "Interface"},
	{"~", "list", "Open_vSwitch"},
	{"--dry-run", "add-br", "brx"},
	{"list-br"},
	// libvirt 9.0's exact argument vectors (after --timeout=5).
	{"add-br", "virbr0"},
	{"--", "--may-exist", "add-port", "virbr0", "vnet0", "vlan_mode=native-tagged", "tag=42", "trunk=10,20", "--", "set", "Interface", "vnet0", `external-ids:attached-mac="52:54:00:12:34:56"`,
		"--", "set", "Interface", "vnet0", `external-ids:iface-id="8a1b6f9e-5d43-4b2c-9e1a-0f1e2d3c4b5a"`, "--", "set", "Interface", "vnet0",
		`external-ids:vm-id="0b7f9f3e-1234-4d1c-8a2b-3c4d5e6f7a8b"`, "--", "set", "Interface", "vnet0", "external-ids:iface-status=active"},
	{"--", "--may-exist", "add-port", "virbr0", "vnet0", "--", "set", "Interface", "vnet0", "external-ids:iface-status=active"},
	{"--if-exists", "get", "Interface", "vnet0", "external_ids:PortData"},
	{"set", "Interface", "vnet0", "external_ids:PortData=abc"},
	{"--if-exists", "get", "Interface", "vnet0", "external_ids:PortData"},
	{"--if-exists", "--format=list", "--data=json", "--no-headings", "--columns=statistics", "list", "Interface", "vnet0"},
	{"--if-exists", "--format=list", "--data=json", "--no-headings", "--columns=statistics", "list", "Interface", "nope"},
	{"iface-to-br", "vnet0"},
	{"--no-headings", "--columns=name", "find", "Interface", "options:vhost-server-path=/x"},
	{"--", "--if-exists", "clear", "Port", "vnet0", "tag", "--", "--if-exists", "clear", "Port", "vnet0", "trunk", "--", "--if-exists", "clear", "Port", "vnet0", "vlan_mode",
		"--", "--if-exists", "set", "Port", "vnet0", "tag=7"},
	{"get", "Port", "vnet0", "tag", "trunks", "vlan_mode"},
	{"set", "port", "vnet0", "qos=@qos1", `external-ids:vm-id="0b7f"`, `external-ids:ifname="vnet0"`, "--", "--id=@qos1", "create", "qos", "type=linux-htb",
		"other_config:min-rate=8000", "queues:0=@queue0", `external-ids:vm-id="0b7f"`, `external-ids:ifname="vnet0"`, "--", "--id=@queue0", "create", "queue",
		"other_config:min-rate=8000", `external-ids:vm-id="0b7f"`, `external-ids:ifname="vnet0"`},
	{"~", "--no-heading", "--columns=_uuid", "find", "queue", `external-ids:vm-id="0b7f"`, `external-ids:ifname="vnet0"`},
	{"set", "Interface", "vnet0", "ingress_policing_rate=800", "ingress_policing_burst=80"},
	{"--no-heading", "--columns=_uuid", "--if-exists", "list", "port", "vnet0", "qos"},
	{"set", "Interface", "vnet0", "ingress_policing_rate=0", "ingress_policing_burst=0"},
	{"--", "--if-exists", "del-port", "vnet0"},
	{"--", "--if-exists", "del-port", "vnet0"},
	{"~", "list", "Queue"},
	{"~", "list", "QoS"},
}

func TestVsctlDifferential(t *testing.T) {
	real := ovstest.StartOVSDBServer(t, &ovstest.Options{SchemaJSON: vswitchSchema(), NoInit: true})
	ours := "unix:" + ovsdbtest.Start(t)
	nReal, nOurs := normalizer{}, normalizer{}
	for _, cmd := range vsctlScript {
		unord := cmd[0] == "~"
		if unord {
			cmd = cmd[1:]
		}
		args := append([]string{"--no-wait", "--timeout=10"}, cmd...)
		want := ovstest.Vsctl(t, real.Sock, args...)
		got := ovstest.Vsctl(t, ours, args...)
		norm := func(n normalizer, s string) string {
			if unord {
				return unordered(s)
			}
			return n.apply(s)
		}
		ws, gs := norm(nReal, want.Stdout), norm(nOurs, got.Stdout)
		we, ge := norm(nReal, want.Stderr), norm(nOurs, got.Stderr)
		if ws != gs || we != ge || want.ExitCode != got.ExitCode {
			t.Errorf("ovs-vsctl %s:\nDebian: exit %d\nstdout:\n%s\nstderr:\n%s\nours: exit %d\nstdout:\n%s\nstderr:\n%s",
				strings.Join(cmd, " "), want.ExitCode, ws, we, got.ExitCode, gs, ge)
		}
	}
}

// TestVsctlWait runs ovs-vsctl without --no-wait against our server with a
// stand-in vswitchd bumping cur_cfg, so the next_cfg/cur_cfg handshake and
// the ofport post-checks are exercised.
func TestVsctlWait(t *testing.T) {
	sock := "unix:" + ovsdbtest.Start(t)
	ovstest.Vsctl(t, sock, "--no-wait", "init").Check(t)
	b := ovstest.CurCfgBumper(t, sock)
	for _, args := range [][]string{
		{"add-br", "br0"},
		{"add-port", "br0", "vnet0", "--", "set", "Interface", "vnet0", "external-ids:iface-status=active"},
		{"set", "Port", "vnet0", "tag=7"},
		{"del-port", "vnet0"},
		{"del-br", "br0"},
	} {
		r := ovstest.Vsctl(t, sock, append([]string{"--timeout=10"}, args...)...)
		if !r.OK() || r.Stderr != "" {
			t.Fatalf("ovs-vsctl %v: %s", args, r)
		}
	}
	if b.Bumps() == 0 {
		t.Fatalf("bumper never acknowledged a change")
	}
}
