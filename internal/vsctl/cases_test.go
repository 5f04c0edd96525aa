package vsctl_test

import (
	"strings"
	"time"
)

// split turns "a b c" into argv; single-quoted parts keep spaces.
func split(s string) []string {
	var out []string
	var cur strings.Builder
	inQ, have := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			inQ, have = !inQ, true
		case c == ' ' && !inQ:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}

func lines(ss ...string) [][]string {
	out := make([][]string, len(ss))
	for i, s := range ss {
		out[i] = split(s)
	}
	return out
}

// richSetup builds a database with most kinds of rows.
var richSetup = lines(
	"--no-wait add-br br0",
	"--no-wait add-br br1",
	"--no-wait add-br fake0 br0 10",
	"--no-wait add-port br0 vnet0 tag=5 -- set Interface vnet0 external-ids:attached-mac='\"52:54:00:aa:bb:cc\"' external-ids:iface-id=abc",
	"--no-wait add-port br0 vnet1 -- add-port br0 eth9 -- add-port fake0 vnet2",
	"--no-wait add-bond br1 bond0 eth1 eth2 eth3 lacp=active",
	"--no-wait set-controller br0 tcp:127.0.0.1:6653 tcp:10.0.0.1:6633 -- set-fail-mode br0 secure",
	"--no-wait set-manager ptcp:6640 -- set Open_vSwitch . external_ids:system-id=host1 other_config:x='\"a b\"'",
	"--no-wait set Bridge br0 external_ids:owner=me 'other_config:hwaddr=\"00:11:22:33:44:55\"' flood_vlans=1,2,3 datapath_type=netdev",
	"--no-wait set Port vnet1 trunks=10,20,30 vlan_mode=trunk -- set Interface vnet1 type=patch options:peer=vnet9",
	"--no-wait set Interface eth9 error='\"could not open network device eth9 (No such device)\"' mtu_request=9000 ingress_policing_rate=100",
	"--no-wait -- set Port vnet0 qos=@q -- --id=@q create QoS type=linux-htb other_config:max-rate=1000000 queues:0=@r -- --id=@r create Queue other_config:min-rate=1000 external-ids:vm-id=vm1",
	"--no-wait set Interface vnet0 statistics='{rx_bytes=10,tx_bytes=20,rx_packets=1,collisions=0}' options:vhost-server-path=/tmp/sock0",
	"--no-wait set Interface vnet2 'external-ids:weird=\"tab\\tquote\\\"é\"'",
)

func readScenarios() []scenario {
	reads := lines(
		"show", "list-br", "--real list-br", "--fake list-br", "br-exists br0", "br-exists nope", "br-exists fake0",
		"br-to-vlan fake0", "br-to-vlan br0", "br-to-parent fake0", "br-to-parent br1", "br-to-vlan nope",
		"br-get-external-id br0", "br-get-external-id br0 owner", "br-get-external-id br0 none", "br-get-external-id fake0",
		"list-ports br0", "list-ports br1", "list-ports fake0", "list-ports nope",
		"list-ifaces br0", "list-ifaces br1", "list-ifaces fake0",
		"port-to-br vnet0", "port-to-br vnet2", "port-to-br fake0", "port-to-br bond0", "port-to-br nope",
		"iface-to-br eth2", "iface-to-br vnet2", "iface-to-br br0", "iface-to-br nope",
		"get-controller br0", "get-controller fake0", "get-controller br1", "get-fail-mode br0", "get-fail-mode br1",
		"get-manager", "get-ssl",
		"list Bridge", "list Port", "list Interface", "list Open_vSwitch", "list Controller", "list QoS", "list Queue",
		"list Manager", "list bridge br0", "list br br0 br1", "list Bridge nope", "--if-exists list Bridge nope br1",
		"list NoTable", "list Q", "list interface vnet0 eth9",
		"--columns=name,ofport list Interface", "--columns=name,tag,trunks list Port", "--columns=_uuid,name list Bridge",
		"--columns=nosuch list Bridge", "--columns=s list Bridge",
		"-f table list Port", "-f table --columns=name,external_ids list Interface", "--format=table --no-headings list Bridge",
		"-f csv list Interface", "--format=csv --columns=name,other_config list Bridge", "-f csv --no-headings list Port",
		"-f html list Bridge", "-f html --columns=name,ports list Bridge", "-f html -d bare list Port",
		"-f json list Interface", "-f json --pretty list Bridge", "--format=json --columns=name,statistics list Interface vnet0",
		"-d json list Bridge", "-d bare list Bridge", "--data=json --columns=name,tag list Port",
		"--bare list Port", "--bare --columns=name list Interface", "--bare --columns=_uuid list Bridge",
		"--no-headings list Bridge br0", "--oneline list Bridge br0", "--oneline list-br", "--oneline list-ports br0 -- list-br",
		"--oneline get Open_vSwitch . other_config", "--pretty -f json --columns=name,tag list Port",
		"-f table -d json list Port", "-f list -d string list Queue", "-f csv -d bare list QoS",
		"find Port tag=5", "find Port tag=10", "find Port tag!=5", "find Port 'tag>5'", "find Port 'tag<6'", "find Port 'tag<=5'", "find Port 'tag>=10'",
		"find Interface type=internal", "find Interface type=internal --columns=name", "--columns=name find Interface type=internal",
		"find Interface name=nope", "find Interface options:peer=vnet9", "find Interface external_ids:iface-id=abc",
		"find Interface 'external-ids:attached-mac=\"52:54:00:aa:bb:cc\"'", "find Port 'trunks{>=}[10,20]'", "find Port 'trunks{<=}[10,20,30,40]'",
		"find Port 'trunks{=}[10,20,30]'", "find Port 'trunks{!=}[10]'", "find Port 'trunks{<}[10,20,30,40]'", "find Port 'trunks{>}[10]'",
		"find Port trunks=[]", "find Bridge 'flood_vlans{>=}2'", "find Interface 'statistics:rx_bytes>5'",
		"find Bridge datapath_type=netdev fail_mode=secure", "find Bridge nosuch=1", "find Bridge name", "find Bridge 'name=='",
		"find NoTable a=b",
		"get Bridge br0 name", "get Bridge br0 name ports fail_mode", "get Bridge br0 _uuid", "get Open_vSwitch . bridges",
		"get Open_vSwitch . external_ids:system-id", "get Open_vSwitch . other_config:x", "get Interface vnet0 external_ids:attached-mac",
		"get Interface vnet0 external_ids:nokey", "--if-exists get Interface vnet0 external_ids:nokey", "--if-exists get Interface nope name",
		"get Interface nope name", "get Port vnet0 tag:x", "get Port vnet0 qos", "get QoS vnet0 type", "get Queue nope other_config",
		"get Controller br0 target", "get Bridge br0 nocol", "get Bridge br0 s", "get Bridge br0 stp", "get Bridge br0 ''", "get Interface eth9 error",
		"get interface eth9 mtu_request ingress_policing_rate", "get Interface vnet2 external_ids", "get Interface vnet2 external_ids:weird",
		"get Manager ptcp:6640 target", "get SSL . private_key", "get Open_vSwitch . cur_cfg",
		"--id=@x get Bridge br0", "get Bridge br0 name=x",
		"--no-heading --columns=name find Interface options:vhost-server-path=/tmp/sock0",
		"--if-exists --format=list --data=json --no-headings --columns=statistics list Interface vnet0",
		"--if-exists --format=list --data=json --no-headings --columns=statistics list Interface nope",
		"--if-exists get Interface vnet0 external_ids:PortData", "get Interface vnet0 name",
		"--no-heading --columns=_uuid --if-exists list port vnet0 qos", "--no-heading --columns=_uuid find queue 'external-ids:vm-id=\"vm1\"'",
		"--no-heading --columns=_uuid find qos 'external-ids:vm-id=\"vm1\"'",
		"list-br -- list-ports br0 -- get Bridge br0 name", "br-exists nope -- list-br", "list-br -- br-exists nope",
		"list NoTable -- list-br", "list-br -- list NoTable", "--columns=nosuch list Bridge -- list NoTable",
		"wait-until Bridge br0", "wait-until Bridge br0 name=br0 fail_mode=secure", "wait-until Port vnet0 tag=5",
		"-f table --columns=name,tag,trunks,vlan_mode list Port", "-f table -d bare --columns=name,external_ids list Interface",
		"-f csv -d json --columns=name,options list Interface", "-f html -d json --columns=name,statistics list Interface",
		"-f json -d bare --columns=name list Port", "-f json --pretty --columns=_uuid,name,qos list Port vnet0",
		"--format=list --data=bare --columns=name,other_config list Bridge", "--no-headings -f table --columns=name list Interface",
		"list Interface vnet2", "--columns=external_ids list Interface vnet2", "-f csv --columns=external_ids list Interface vnet2",
		"-f html --columns=external_ids list Interface vnet2", "-f json --columns=external_ids list Interface vnet2",
		"-d bare --columns=external_ids list Interface vnet2", "-d json --columns=external_ids list Interface vnet2",
		"-f table --columns=external_ids list Interface vnet2", "--oneline get Interface vnet2 external_ids",
		"get Interface vnet2 external_ids:weird", "find Interface 'external_ids:weird=\"tab\\tquote\\\"é\"'",
		"list Open_vSwitch .", "get Open_vSwitch . manager_options", "list Manager ptcp:6640", "list Controller br0",
		"get Queue 1234 other_config", "find Queue other_config:min-rate=1000", "find QoS type=linux-htb --columns=type,queues",
		"find Port 'vlan_mode=trunk'", "find Port 'trunks{in}[10,20,30,40]'", "find Port 'trunks{not-in}[40]'", "find Port 'tag{in}[5,10]'",
		"find Interface 'ofport<0'", "find Interface 'ofport>=0'", "find Interface 'mtu_request>8000'", "find Bridge 'flood_vlans{<=}[1,2,3]'",
		"find Bridge name=br0 name=br1", "find Bridge 'name!=br0'", "find Interface type!=internal --columns=name,type",
		"find Interface 'external_ids:iface-id!=abc' --columns=name", "find Bridge 'other_config:hwaddr=\"00:11:22:33:44:55\"'",
		"find Interface name=vnet0 --columns=name -- find Interface name=vnet1 --columns=name",
		"get Bridge br0 other_config:hwaddr", "get Bridge br0 flood_vlans", "get Bridge br0 controller", "get Bridge br0 datapath_id",
		"get Port bond0 interfaces", "get Port vnet1 trunks vlan_mode", "get Interface vnet1 options options:peer",
		"get Open_vSwitch . other_config:x", "get Open_vSwitch . ovs_version", "get Open_vSwitch . db_version",
		"--max-column-width=10 -f table --columns=name,external_ids list Interface", "--max-column-width=3 -f table --columns=name,type list Interface",
		"--max-column-width=10 --columns=name,external_ids list Interface vnet0", "--max-column-width=x -f table --columns=name list Bridge",
		"--max-column-width=5 --no-headings -f table --columns=name,ofport list Interface",
	)
	return []scenario{{name: "rich", setup: richSetup, steps: reads}}
}

func noServerCases() [][]string {
	return lines(
		"--version", "-V", "--help", "-h", "--commands", "--options", "--comm", "--opt",
		"", "--", "-- --", "foo", "--foo list-br", "-x list-br", "--no list-br", "--d list-br", "--c list-br", "--if list-br",
		"list-br extra", "list-br --real", "add-br", "add-br a b", "del-br", "-- --foo list-br", "--if-exists list-br",
		"--columns=name list-br", "--format=xx list-br", "--data=xx list-br", "-t abc list-br", "-t0 list-br", "--timeout 0 list-br",
		"--timeout=-1 list-br", "list-br", "show", "--db=foo:bar list-br", "--db=tcp:127.0.0.1:1 list-br",
		"--db=/tmp/nonexistent.sock list-br", "create Port",
		"get Bridge x nocol", "set Bridge x nocol=1", "add Bridge x nocol 1", "remove Bridge x nocol 1", "clear Bridge x nocol",
		"create Bridge nocol=1", "find Bridge nocol=1", "wait-until Bridge x nocol=1", "set Bridge x name", "get Bridge x name:k",
		"set Bridge x tag:k=1", "find Bridge nocol", "destroy Bridge", "--all destroy Bridge x", "set Bridge x name=",
		"set Interface x name=a", "get Bridge x name=1", "list Nope", "--columns=x list Bridge", "get Q x y", "create Bridge",
		"--id=@x list-br", "-- --id=@x create Bridge name=a", "add-br a -- --if-exists del-br a", "list-br -- --real list-br", "--may-exist --may-exist add-br x",
		"set Bridge", "get Bridge", "list", "find", "wait-until Bridge", "add-port br0", "list-ports",
		"-vconsole:info list-br", "--verbose=console:info --no-wait add-br x", "-vconsole:info 'add-br' 'a b'", "-vconsole:off list-br",
		"--db", "--oneline", "--no-wait", "--dry-run --retry --no-wait", "-f", "-t",
	)
}

func writeScenarios() []scenario {
	return []scenario{
		{name: "bridges", steps: lines(
			"--no-wait add-br br0", "--no-wait add-br br0", "--no-wait --may-exist add-br br0", "list-br",
			"--no-wait add-br fb0 br0 5", "--no-wait add-br fb1 nope 5", "--no-wait add-br fb1 fb0 5", "--no-wait add-br fb1 br0 4096",
			"--no-wait add-br fb1 br0 x", "--no-wait --may-exist add-br fb0 br0 5", "--no-wait --may-exist add-br fb0 br0 6",
			"--no-wait --may-exist add-br br0 br0 5", "--no-wait --may-exist add-br fb0", "list-br", "--fake list-br", "@sort show",
			"br-to-vlan fb0", "br-to-parent fb0", "--no-wait br-set-external-id br0 k v", "--no-wait br-set-external-id fb0 k2 v2",
			"br-get-external-id br0", "br-get-external-id fb0", "br-get-external-id fb0 k2", "--no-wait br-set-external-id br0 k",
			"br-get-external-id br0", "--no-wait add-port fb0 p1", "list-ports fb0", "list-ports br0", "get Port p1 tag",
			"--no-wait del-br fb0", "list-br", "list-ports br0", "--no-wait del-br nope", "--no-wait --if-exists del-br nope",
			"--no-wait add-br p1", "--no-wait add-port br0 p1", "--no-wait add-port br0 br0", "--no-wait add-br br1 -- add-br br2",
			"list-br", "--no-wait del-br br1 -- del-br br2", "list-br", "--no-wait del-br br0", "list-br", "@sort show",
			"--no-wait add-br br0 -- set Bridge br0 fail_mode=secure", "get Bridge br0 fail_mode", "list-ports br0",
			"--dry-run --no-wait add-br brx", "list-br",
		)},
		{name: "ports", setup: lines("--no-wait add-br br0", "--no-wait add-br br1"), steps: lines(
			"--no-wait add-port br0 vnet0", "--no-wait add-port br0 vnet0", "--no-wait add-port br1 vnet0",
			"--no-wait --may-exist add-port br0 vnet0", "--no-wait --may-exist add-port br1 vnet0", "--no-wait add-port nope p",
			"--no-wait add-port br0 vnet1 tag=7 other_config:a=b", "get Port vnet1 tag other_config", "--no-wait add-port br0 vnet2 tag=x",
			"--no-wait add-port br0 vnet2 nosuch=1", "--no-wait add-port br0 vnet2 tag", "list-ports br0", "list-ifaces br0",
			"port-to-br vnet1", "iface-to-br vnet1", "--no-wait del-port vnet1", "list-ports br0", "--no-wait del-port vnet1",
			"--no-wait --if-exists del-port vnet1", "--no-wait del-port br1 vnet0", "--no-wait del-port br0 vnet0", "list-ports br0",
			"--no-wait add-bond br0 bond0 a1", "--no-wait add-bond br0 bond0 a1 a2 bond_mode=balance-slb", "list-ifaces br0", "list-ports br0",
			"get Port bond0 bond_mode", "--no-wait --with-iface del-port a1", "--no-wait del-port a1", "--no-wait --with-iface --if-exists del-port a9",
			"--no-wait --with-iface del-port a9", "list-ports br0", "--no-wait add-port br0 p1 -- add-port br0 p2 -- add-port br1 p3",
			"list-ports br0", "list-ports br1", "--no-wait del-port br0 br0", "--no-wait del-port br0", "@sort show",
			"--no-wait add-bond br1 b1 x1 x2 -- add-bond-iface b1 x3", "list-ifaces br1", "--no-wait del-bond-iface b1 x3", "list-ifaces br1",
			"--no-wait --may-exist add-bond br1 b1 x1 x2", "--no-wait --may-exist add-bond br1 b1 x1 x9",
		)},
		{name: "controllers", setup: lines("--no-wait add-br br0", "--no-wait add-br fb br0 3"), steps: lines(
			"get-controller br0", "--no-wait set-controller br0 tcp:1.2.3.4:6653", "get-controller br0", "get-controller fb",
			"--no-wait set-controller fb tcp:1.1.1.1:1 unix:/tmp/c", "get-controller br0", "@sort list Controller", "--no-wait del-controller br0",
			"get-controller br0", "@sort list Controller", "--no-wait -- --inactivity-probe=3000 set-controller br0 tcp:2.2.2.2:6653",
			"@sort list Controller", "get-fail-mode br0", "--no-wait set-fail-mode br0 secure", "get-fail-mode br0", "get-fail-mode fb",
			"--no-wait set-fail-mode br0 bogus", "--no-wait del-fail-mode br0", "get-fail-mode br0", "get-controller nope",
			"get-manager", "--no-wait set-manager ptcp:6640 tcp:1.2.3.4:6640", "get-manager", "@sort list Manager", "--no-wait del-manager",
			"get-manager", "get-ssl", "--no-wait set-ssl /k /c /ca", "get-ssl", "list SSL", "--no-wait -- --bootstrap set-ssl /k2 /c2 /ca2",
			"get-ssl", "--no-wait del-ssl", "get-ssl",
			"--no-wait set Bridge br0 other_config:hwaddr=aa other_config:x=1 flood_vlans=5 -- set-controller br0 tcp:3.3.3.3:1 -- set-manager ptcp:1",
			"--no-wait set Port br0 other_config:a=b -- set Interface br0 ingress_policing_rate=5 ingress_policing_burst=6 -- set-ssl a b c",
			"--no-wait -- --id=@m create Mirror name=m -- add Bridge br0 mirrors @m -- --id=@n create NetFlow targets=\"1.1.1.1:1\" -- set Bridge br0 netflow=@n",
			"--no-wait emer-reset", "@sort show", "--columns=name,other_config,flood_vlans,controller,mirrors,netflow,fail_mode list Bridge br0",
			"--columns=name,other_config list Port br0", "--columns=name,ingress_policing_rate,ingress_policing_burst list Interface br0",
			"get-manager", "get-ssl", "list Mirror", "list NetFlow",
		)},
		{name: "dbcmds", setup: lines("--no-wait add-br br0", "--no-wait add-port br0 vnet0"), steps: lines(
			"--no-wait set Bridge br0 external_ids:a=b", "get Bridge br0 external_ids", "--no-wait set Bridge br0 'external_ids={x=1, y=\"2 3\"}'",
			"get Bridge br0 external_ids", "--no-wait set Bridge br0 'external_ids=a=b,c=d'", "get Bridge br0 external_ids",
			"--no-wait set Bridge br0 'external_ids={a=b'", "--no-wait set Bridge br0 'external_ids=a=b}'", "--no-wait set Bridge br0 external_ids=a",
			"--no-wait set Bridge br0 'external_ids=a b'", "--no-wait set Bridge br0 'external_ids={a=1,a=2}'", "--no-wait set Bridge br0 external_ids=a:b=c",
			"--no-wait set Bridge br0 flood_vlans=1-3,7", "get Bridge br0 flood_vlans", "--no-wait set Bridge br0 flood_vlans=3-1",
			"--no-wait set Bridge br0 flood_vlans=[1,1]", "--no-wait set Bridge br0 flood_vlans=a:b", "--no-wait set Bridge br0 flood_vlans=5000",
			"--no-wait set Port vnet0 tag=5", "--no-wait set Port vnet0 tag='5 6'", "--no-wait set Port vnet0 tag=[]", "get Port vnet0 tag",
			"--no-wait set Port vnet0 vlan_mode=foo", "--no-wait set Port vnet0 vlan_mode=access", "--no-wait set Interface vnet0 name=a",
			"--no-wait set Bridge br0 stp_enable=maybe", "--no-wait set Bridge br0 stp_enable=true", "get Bridge br0 stp_enable",
			"--no-wait set Bridge br0 name", "--no-wait set Bridge br0 datapath_type='a b'", "--no-wait set Bridge br0 'datapath_type=\"a b\"'",
			"get Bridge br0 datapath_type", "--no-wait set Bridge br0 datapath_type='\"a\" x'", "--no-wait set Bridge br0 datapath_type=",
			"--no-wait set Bridge nope name=x", "--no-wait --if-exists set Bridge nope name=x", "--no-wait set Bridge br0 tag=1",
			"--no-wait set Port vnet0 tag:x=1", "--no-wait set Interface vnet0 'external-ids:x=a:b c'", "--no-wait set Interface vnet0 'external-ids:y=\"a\" c'",
			"--no-wait set Interface vnet0 'external-ids:\"k k\"=z'", "get Interface vnet0 'external-ids:\"k k\"'", "get Interface vnet0 external_ids",
			"--no-wait add Bridge br0 flood_vlans 9 10", "get Bridge br0 flood_vlans", "--no-wait add Bridge br0 external_ids a=z q=r",
			"get Bridge br0 external_ids", "--no-wait remove Bridge br0 flood_vlans 9", "--no-wait remove Bridge br0 external_ids q",
			"--no-wait remove Bridge br0 external_ids a=nomatch", "--no-wait remove Bridge br0 external_ids x=1", "get Bridge br0 external_ids flood_vlans",
			"--no-wait clear Bridge br0 flood_vlans external_ids", "get Bridge br0 external_ids flood_vlans", "--no-wait clear Bridge br0 name",
			"--no-wait add Port vnet0 tag 1 2", "--no-wait remove Bridge br0 name br0",
			"--no-wait create QoS type=linux-htb", "--no-wait create Port name=zz", "--no-wait --id=@x create Port name=zz",
			"--no-wait --id=x create QoS type=a", "--no-wait -- --id=@x create QoS type=a -- --id=@x create QoS type=b",
			"--no-wait -- set Port vnet0 qos=@q -- --id=@q create QoS type=linux-htb queues:0=@r -- --id=@r create Queue other_config:min-rate=1",
			"@sort list QoS", "@sort list Queue", "get Port vnet0 qos", "--no-wait -- add Bridge br0 ports @y", "--no-wait destroy QoS nope",
			"--no-wait --if-exists destroy QoS nope", "--no-wait destroy QoS", "--no-wait --all destroy Queue", "@sort list Queue",
			"--no-wait clear Port vnet0 qos -- --all destroy QoS", "@sort list QoS", "--no-wait destroy Bridge br0", "list-br",
			"--no-wait set Open_vSwitch . other_config:stats-update-interval=5000", "get Open_vSwitch . other_config",
			"--no-wait -- --if-exists clear Port vnet0 tag -- --if-exists clear Port vnet0 trunk -- --if-exists clear Port vnet0 vlan_mode",
			"--no-wait -- --if-exists clear Port nope tag -- --if-exists set Port nope tag=3",
			"--no-wait -- --if-exists set Port vnet0 vlan_mode=native-tagged tag=4 trunk=1,2", "get Port vnet0 vlan_mode tag trunks",
			"--no-wait set Interface vnet0 ingress_policing_rate=800 ingress_policing_burst=80", "get Interface vnet0 ingress_policing_rate ingress_policing_burst",
			"--no-wait set Interface vnet0 external_ids:PortData=abc", "--if-exists get Interface vnet0 external_ids:PortData",
			"--no-wait set Bridge br0 external_ids:a=\xe9", "--no-wait set Bridge br0 'other_config={a=x\xe9\x41}'", "--no-wait set Bridge br0 external_ids:a=\x80z",
			"-vconsole:info --no-wait set Bridge br0 'external_ids:k=a b' 'external_ids:q=\"x\\\\\"'", "-vconsole:info get Bridge br0 external_ids",
			"--no-wait set Interface vnet0 mtu_request=-5", "--no-wait set Interface vnet0 ofport_request=0",
		)},
		{name: "misc", setup: lines("--no-wait add-br br0", "--no-wait add-br fb br0 9", "--no-wait add-port br0 p0"), steps: lines(
			"--no-wait add-aa-mapping br0 5 10", "get-aa-mapping br0", "--no-wait add-aa-mapping br0 6 11", "--no-wait add-aa-mapping br0 5 12",
			"get-aa-mapping br0", "--no-wait del-aa-mapping br0 5 12", "get-aa-mapping br0", "list AutoAttach", "--no-wait add-aa-mapping nob 1 1",
			"--no-wait del-aa-mapping br0 9 9", "--no-wait add-aa-mapping br0 x y", "get-aa-mapping fb", "get-aa-mapping nob",
			"--no-wait comment hello -- add-port br0 p1", "comment", "--no-wait create Manager target=ptcp:1 -- create Manager target=ptcp:2",
			"--no-wait --id=@m create Manager target=ptcp:3 -- add Open_vSwitch . manager_options @m", "get-manager",
			"--id=@b get Bridge br0 -- --id=@b get Bridge br0", "--no-wait --id=@p get Port p0 -- remove Bridge br0 ports @p", "list-ports br0",
			"--no-wait --id=@p get Port p1 -- set Bridge br0 mirrors=@m -- --id=@m create Mirror name=m0 select_all=true output_port=@p",
			"list Mirror", "get Mirror m0 output_port", "--no-wait -- --id=@m create Mirror name=m1 -- add Bridge br0 mirrors @m", "@sort list Mirror",
			"--no-wait set Bridge br0 mirrors=[]", "list Mirror", "--no-wait set Bridge br0 mirrors=@nope", "--no-wait set Bridge br0 mirrors=12345678-1234-1234-1234-123456789abc",
			"--no-wait set Bridge br0 mirrors=notauuid", "--dry-run --no-wait add-port br0 p9", "list-ports br0", "-t 1 --dry-run add-port br0 p9",
			"--oneline list-br -- list-ports br0 -- br-exists br0 -- get Bridge br0 name", "--oneline --no-wait create Manager target=ptcp:9",
			"--oneline list-ports nope", "--columns=name,name list Bridge br0", "--columns=_uuid,_version list Bridge br0", "--columns= list Bridge br0",
			"-f csv --columns=name list Bridge br0 -- list-br", "-f json list-br", "--bare list-ports br0",
			"wait-until Bridge br0 name=br0", "wait-until Port p1 name=p1 tag=[]", "--no-wait wait-until Bridge br0 -- add-port br0 p5", "list-ports br0",
			"--no-wait set Port p1 other_config:a=1 -- set Port p1 other_config:b=2 -- set Port p1 other_config:a=3", "get Port p1 other_config",
			"--no-wait remove Port p1 other_config a -- add Port p1 other_config c=4 -- get Port p1 other_config",
			"--no-wait set Port p1 tag=1 -- get Port p1 tag -- set Port p1 tag=2 -- get Port p1 tag",
			"--no-wait add-port fb fp1", "list-ports fb", "port-to-br fp1", "get Port fp1 tag", "--no-wait del-port br0 fp1", "--no-wait del-port fb fp1",
			"--no-wait add-port br0 fp2 -- del-port fb fp2", "--no-wait --may-exist add-port fb fp2", "--no-wait --may-exist add-port br0 fp9 -- --may-exist add-port fb fp9",
			"br-exists fb -- br-exists nope -- list-br", "--no-wait del-br fb", "list-br", "list-ports br0",
			"--no-wait set Open_vSwitch . external_ids:hostname=h1", "get Open_vSwitch . external_ids", "--no-wait set Open_vSwitch 1234 external_ids:x=y",
			"--no-wait --if-exists del-port nope -- --if-exists del-br nope -- list-br",
		)},
		{name: "tricky", setup: lines("--no-wait add-br br0", "--no-wait add-port br0 p0"), steps: lines(
			"--no-wait set Bridge br0 controller=@c", "--no-wait -- --id=@c create Controller target=tcp:1.1.1.1:1 -- set Bridge br0 controller=@c",
			"get-controller br0", "--no-wait -- --id=@c create Controller target=x -- --id=@c create Controller target=y",
			"--no-wait -- --id=@q create QoS type=x queues:0=@a queues:1=@b -- --id=@a create Queue -- --id=@b create Queue -- set Port p0 qos=@q",
			"get QoS p0 queues:0", "get QoS p0 queues:7", "get QoS p0 queues", "--no-wait set Bridge br0 other_config:x='\"\"'", "get Bridge br0 other_config",
			"--no-wait set Bridge br0 'external_ids={}'", "get Bridge br0 external_ids", "--no-wait add Bridge br0 flood_vlans 1-3 7",
			"get Bridge br0 flood_vlans", "--no-wait remove Bridge br0 flood_vlans 2-3", "get Bridge br0 flood_vlans",
			"--no-wait remove Open_vSwitch . external_ids nokey", "--no-wait clear Open_vSwitch . external_ids other_config",
			"--no-wait --if-exists destroy Queue nope 12345678-1234-1234-1234-123456789abc", "list Bridge br0 br0", "get Bridge br0 name name",
			"--no-wait set Bridge br0 'external_ids:n=\"a\\nb\\\\c\"'", "--oneline get Bridge br0 external_ids:n", "get Bridge br0 external_ids:n",
			"-f csv --columns=name,external_ids list Bridge br0", "-f table --columns=name,external_ids list Bridge br0", "-f html --columns=external_ids list Bridge br0",
			"-f json --columns=external_ids list Bridge br0", "--bare --columns=external_ids list Bridge br0",
			"--no-wait init -- init", "--no-wait add-port br0 'a b' -- add-port br0 'q\"x'", "list-ports br0", "--columns=name list Port 'a b'",
			"--bare --columns=name find Port 'name=\"a b\"'", "port-to-br 'a b'", "--no-wait del-port 'a b'", "@sort show",
			"--no-wait add-port br0 p1 -- set Interface p1 type=internal", "get Interface p1 type", "--no-wait add-port br0 p2 -- set Port p2 tag=2 -- set Port p2 tag=3",
			"get Port p2 tag", "--no-wait set Port p2 name=p3", "--no-wait set Bridge br0 name=br9", "list-br",
			"--no-wait br-set-external-id nope k v", "br-get-external-id nope", "--no-wait set Port p0 qos=[]", "--no-wait destroy QoS p0",
			"@sort list Queue", "--no-wait --all destroy Queue", "list Queue",
			"--no-wait set Interface p1 options:a=1 options:b=2", "get Interface p1 options", "--no-wait remove Interface p1 options a=2 b=2",
			"get Interface p1 options", "--no-wait remove Interface p1 options '{a=1}'", "get Interface p1 options",
			"--no-wait set Bridge br0 protocols=OpenFlow10,OpenFlow13", "get Bridge br0 protocols", "--no-wait set Bridge br0 protocols=OpenFlow99",
			"--no-wait set Bridge br0 fail_mode=standalone -- get Bridge br0 fail_mode", "--no-wait set Bridge br0 stp_enable=yes",
			"--no-wait set Interface p1 ofport_request=70000", "--no-wait set Interface p1 mtu_request=1500 -- get Interface p1 mtu_request",
			"--no-wait set Port p0 'external_ids:\"=\"=\"=\"'", "get Port p0 external_ids", "--no-wait set Port p0 external_ids:'a b'=c",
			"--no-wait --if-exists --id=@b get Bridge nope -- set Open_vSwitch . bridges=@b", "--no-wait --id=@b get Bridge nope -- set Open_vSwitch . bridges=@b",
			"--no-wait -- --id=@x create Bridge name=zz -- --id=@x get Bridge br0", "--no-wait -- --id=@x get Bridge br0 -- --id=@x create Bridge name=zz",
			"--no-wait add-br 'x y'", "list-br", "--no-wait add-br ''", "list-br", "--no-wait add-port br0 ''", "--no-wait add-bond br0 bo '' x",
			"--no-wait add-br fbx '' 5", "--no-wait add-br '' br0 5", "--no-wait add-bond-iface bo ''",
		)},
		{name: "manpage", setup: lines("--no-wait add-br br0", "--no-wait add-port br0 eth0", "--no-wait add-port br0 eth1"), steps: lines(
			"--no-wait set bridge br0 other-config:datapath-id=0000000000000001", "get Bridge br0 other_config",
			"--no-wait set interface eth0 type=dpdk options:dpdk-devargs=0000:01:00.0", "get Interface eth0 options type",
			"--no-wait set Open_vSwitch . other_config:dpdk-init=true", "--no-wait set port eth0 vlan_mode=trunk trunks=10,20",
			"--no-wait -- set Bridge br0 mirrors=@m -- --id=@eth1 get Port eth1 -- --id=@m create Mirror name=mymirror select-dst-port=@eth1 select-src-port=@eth1 output-port=@eth1",
			"list Mirror", "--no-wait -- set bridge br0 sflow=@s -- --id=@s create sflow agent=eth0 target=\"10.0.0.1:6343\" header=128 sampling=64 polling=10",
			"list sFlow", "list sFlow br0", "get sFlow br0 targets", "--no-wait -- --id=@ft create Flow_Table flow_limit=100 overflow_policy=refuse -- set Bridge br0 flow_tables=0=@ft",
			"list Flow_Table", "get Bridge br0 flow_tables", "--no-wait -- set Bridge br0 ipfix=@i -- --id=@i create IPFIX targets=\"192.168.0.34:4739\" obs_domain_id=123 obs_point_id=456 cache_active_timeout=60 cache_max_flows=13",
			"list IPFIX", "list IPFIX br0", "--no-wait set Bridge br0 stp_enable=true other_config:stp-priority=0x7800", "--columns=ofport,name list Interface eth0",
			"--no-wait clear Bridge br0 mirrors -- clear Bridge br0 sflow ipfix flow_tables", "list Mirror", "list sFlow",
			"--no-wait -- set Bridge br0 netflow=@nf -- --id=@nf create NetFlow targets=\"192.168.0.34:5566\" active-timeout=30", "list NetFlow br0",
			"--no-wait -- --id=@c create Flow_Sample_Collector_Set id=1 bridge=@b -- --id=@b get Bridge br0",
			"--no-wait -- --id=@b get Bridge br0 -- --id=@c create Flow_Sample_Collector_Set id=1 bridge=@b", "list Flow_Sample_Collector_Set 1",
			"get Flow_Sample_Collector_Set 1 id", "get Flow_Sample_Collector_Set 2 id", "--no-wait destroy Flow_Sample_Collector_Set 1",
			"--no-wait set Interface eth1 type=vxlan options:remote_ip=10.0.0.2 options:key=flow", "get Interface eth1 options:remote_ip",
			"--no-wait set Interface eth1 options:remote_ip=flow -- get Interface eth1 options", "--no-wait set Port eth1 bond_updelay=100 lacp=passive",
			"--no-wait set Port eth1 lacp=bogus", "--no-wait set Interface eth0 mac='\"00:11:22:33:44:55\"' -- get Interface eth0 mac",
		)},
		{name: "zones", setup: lines("--no-wait -- --id=@d create Datapath capabilities:ct_zero_snat=true capabilities:recirc=true capabilities:masked_set_action=false -- set Open_vSwitch . datapaths:netdev=@d"), steps: lines(
			"list-zone-tp netdev", "--no-wait add-zone-tp netdev zone=1 icmp_first=30 tcp_syn_sent=20", "list-zone-tp netdev",
			"--no-wait add-zone-tp netdev zone=1 icmp_first=31", "--no-wait --may-exist add-zone-tp netdev zone=1 icmp_first=31",
			"--no-wait add-zone-tp netdev zone=2 bogus=1", "--no-wait add-zone-tp netdev zone=3 udp_first=x", "--no-wait add-zone-tp netdev zone=4 icmp_first=3",
			"list-zone-tp netdev", "list-dp-cap netdev", "list-dp-cap system", "list-zone-tp system", "--no-wait add-zone-tp system zone=1 icmp_first=1",
			"--no-wait del-zone-tp netdev zone=1", "--no-wait del-zone-tp netdev zone=5", "--no-wait --if-exists del-zone-tp netdev zone=5",
			"--no-wait del-zone-tp system zone=1", "list-zone-tp netdev", "--columns=ct_zones list Datapath", "@sort list CT_Timeout_Policy",
			"--no-wait add-zone-tp netdev", "--no-wait del-zone-tp netdev",
		)},
		{name: "libvirt", setup: lines("--no-wait add-br br0"), bump: true, timeout: 20 * time.Second, steps: lines(
			"--timeout=5 -- --may-exist add-port br0 vnet0 -- set Interface vnet0 'external-ids:attached-mac=\"52:54:00:11:22:33\"' -- set Interface vnet0 'external-ids:iface-id=\"6a3c4a43-6b5c-4d92-a83b-2f1bd0c2d0a1\"' -- set Interface vnet0 'external-ids:vm-id=\"f3a9a2f0-1b0c-4c8e-9a2d-1d2e3f4a5b6c\"' -- set Interface vnet0 external-ids:iface-status=active",
			"--timeout=5 -- --may-exist add-port br0 vnet1 vlan_mode=native-tagged tag=42 trunks=10,20 -- set Interface vnet1 'external-ids:attached-mac=\"52:54:00:11:22:34\"' -- set Interface vnet1 'external-ids:iface-id=\"6a3c4a43-6b5c-4d92-a83b-2f1bd0c2d0a2\"' -- set Interface vnet1 'external-ids:vm-id=\"f3a9a2f0-1b0c-4c8e-9a2d-1d2e3f4a5b6c\"' -- set Interface vnet1 'external-ids:port-profile=\"prof\"' -- set Interface vnet1 'external-ids:ifname=\"vnet1\"' -- set Interface vnet1 external-ids:iface-status=active",
			"--timeout=5 -- --may-exist add-port br0 vnet0 -- set Interface vnet0 'external-ids:attached-mac=\"52:54:00:11:22:33\"' -- set Interface vnet0 external-ids:iface-status=active",
			"--timeout=5 list Interface vnet0", "--timeout=5 iface-to-br vnet0", "--timeout=5 --if-exists get Interface vnet0 external_ids:PortData",
			"--timeout=5 set Interface vnet0 external_ids:PortData=blob", "--timeout=5 --if-exists get Interface vnet0 external_ids:PortData",
			"--timeout=5 --if-exists --format=list --data=json --no-headings --columns=statistics list Interface vnet0",
			"--timeout=5 -- --if-exists clear Port vnet1 tag -- --if-exists clear Port vnet1 trunk -- --if-exists clear Port vnet1 vlan_mode -- --if-exists set Port vnet1 tag=7",
			"--timeout=5 get Port vnet1 tag trunks vlan_mode",
			"--timeout=5 --no-heading --columns=_uuid find queue 'external-ids:vm-id=\"f3a9a2f0-1b0c-4c8e-9a2d-1d2e3f4a5b6c\"' 'external-ids:ifname=\"vnet0\"'",
			"--timeout=5 set port vnet0 qos=@qos1 'external-ids:vm-id=\"f3a9a2f0-1b0c-4c8e-9a2d-1d2e3f4a5b6c\"' 'external-ids:ifname=\"vnet0\"' -- --id=@qos1 create qos type=linux-htb other_config:min-rate=8000000 other_config:burst=8192000 other_config:max-rate=16000000 queues:0=@queue0 'external-ids:vm-id=\"f3a9a2f0-1b0c-4c8e-9a2d-1d2e3f4a5b6c\"' 'external-ids:ifname=\"vnet0\"' -- --id=@queue0 create queue other_config:min-rate=8000000 other_config:burst=8192000 other_config:max-rate=16000000 'external-ids:vm-id=\"f3a9a2f0-1b0c-4c8e-9a2d-1d2e3f4a5b6c\"' 'external-ids:ifname=\"vnet0\"'",
			"--timeout=5 --no-heading --columns=_uuid find queue 'external-ids:vm-id=\"f3a9a2f0-1b0c-4c8e-9a2d-1d2e3f4a5b6c\"' 'external-ids:ifname=\"vnet0\"'",
			"--timeout=5 --no-heading --columns=_uuid find qos 'external-ids:vm-id=\"f3a9a2f0-1b0c-4c8e-9a2d-1d2e3f4a5b6c\"' 'external-ids:ifname=\"vnet0\"'",
			"--timeout=5 set Interface vnet0 ingress_policing_rate=800 ingress_policing_burst=80",
			"--timeout=5 --no-heading --columns=_uuid --if-exists list port vnet0 qos",
			"--timeout=5 set Interface vnet0 ingress_policing_rate=0 ingress_policing_burst=0",
			"--timeout=5 -- --if-exists del-port vnet0", "--timeout=5 -- --if-exists del-port vnet0", "--timeout=5 list-ports br0",
			"--timeout=5 add-br br1", "@sort --timeout=5 show", "--timeout=5 del-br br1",
		)},
	}
}
