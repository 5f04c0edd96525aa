package vsctl

import (
	"bytes"
	"fmt"
	"strings"
)

type handler func(c *ctx, cmd *cmdLine, out *bytes.Buffer) error

type cmdSpec struct {
	name    string
	tables  []string // tables to monitor besides the vsctl core; nil = core only
	min     int
	max     int
	opts    []string
	write   bool
	dbTable bool // args[0] names a table to monitor
	run     handler
	postRun func(c *ctx, cmd *cmdLine, out *bytes.Buffer) // after commit (e.g. create prints uuid)
}

const unlimited = 1 << 30

var cmdTable []*cmdSpec

func init() {
	cmdTable = []*cmdSpec{
		// Open vSwitch commands.
		{name: "init", write: true, run: cmdInit},
		{name: "show", tables: []string{"Controller", "Manager"}, run: cmdShow},
		{name: "emer-reset", tables: []string{"*"}, write: true, run: cmdEmerReset},
		// Bridge commands.
		{name: "add-br", min: 1, max: 3, opts: []string{"--may-exist"}, write: true, run: cmdAddBr},
		{name: "del-br", min: 1, max: 1, opts: []string{"--if-exists"}, write: true, run: cmdDelBr},
		{name: "list-br", opts: []string{"--real", "--fake"}, run: cmdListBr},
		{name: "br-exists", min: 1, max: 1, run: cmdBrExists},
		{name: "br-to-vlan", min: 1, max: 1, run: cmdBrToVlan},
		{name: "br-to-parent", min: 1, max: 1, run: cmdBrToParent},
		{name: "br-set-external-id", min: 2, max: 3, write: true, run: cmdBrSetExternalID},
		{name: "br-get-external-id", min: 1, max: 2, run: cmdBrGetExternalID},
		// Port commands.
		{name: "list-ports", min: 1, max: 1, run: cmdListPorts},
		{name: "add-port", min: 2, max: unlimited, opts: []string{"--may-exist"}, write: true, run: cmdAddPort},
		{name: "add-bond", min: 4, max: unlimited, opts: []string{"--may-exist", "--fake-iface"}, write: true, run: cmdAddBond},
		{name: "add-bond-iface", min: 2, max: 2, opts: []string{"--may-exist"}, write: true, run: cmdAddBondIface},
		{name: "del-bond-iface", min: 1, max: 2, opts: []string{"--if-exists"}, write: true, run: cmdDelBondIface},
		{name: "del-port", min: 1, max: 2, opts: []string{"--if-exists", "--with-iface"}, write: true, run: cmdDelPort},
		{name: "port-to-br", min: 1, max: 1, run: cmdPortToBr},
		// Interface commands.
		{name: "list-ifaces", min: 1, max: 1, run: cmdListIfaces},
		{name: "iface-to-br", min: 1, max: 1, run: cmdIfaceToBr},
		// Controller commands.
		{name: "get-controller", tables: []string{"Controller"}, min: 1, max: 1, run: cmdGetController},
		{name: "del-controller", tables: []string{"Controller"}, min: 1, max: 1, write: true, run: cmdDelController},
		{name: "set-controller", tables: []string{"Controller"}, min: 1, max: unlimited, opts: []string{"--inactivity-probe"}, write: true, run: cmdSetController},
		{name: "get-fail-mode", min: 1, max: 1, run: cmdGetFailMode},
		{name: "del-fail-mode", min: 1, max: 1, write: true, run: cmdDelFailMode},
		{name: "set-fail-mode", min: 2, max: 2, write: true, run: cmdSetFailMode},
		// Manager commands.
		{name: "get-manager", tables: []string{"Manager"}, run: cmdGetManager},
		{name: "del-manager", tables: []string{"Manager"}, write: true, run: cmdDelManager},
		{name: "set-manager", tables: []string{"Manager"}, min: 1, max: unlimited, opts: []string{"--inactivity-probe"}, write: true, run: cmdSetManager},
		// SSL commands.
		{name: "get-ssl", tables: []string{"SSL"}, run: cmdGetSSL},
		{name: "del-ssl", tables: []string{"SSL"}, write: true, run: cmdDelSSL},
		{name: "set-ssl", tables: []string{"SSL"}, min: 3, max: 3, opts: []string{"--bootstrap"}, write: true, run: cmdSetSSL},
		// Auto Attach commands.
		{name: "add-aa-mapping", tables: []string{"AutoAttach"}, min: 3, max: 3, write: true, run: cmdAddAAMapping},
		{name: "del-aa-mapping", tables: []string{"AutoAttach"}, min: 3, max: 3, write: true, run: cmdDelAAMapping},
		{name: "get-aa-mapping", tables: []string{"AutoAttach"}, min: 1, max: 1, run: cmdGetAAMapping},
		// Conntrack zone and datapath commands.
		{name: "add-zone-tp", tables: []string{"Datapath", "CT_Zone", "CT_Timeout_Policy"}, min: 3, max: unlimited, opts: []string{"--may-exist"}, write: true, run: cmdAddZoneTP},
		{name: "del-zone-tp", tables: []string{"Datapath", "CT_Zone", "CT_Timeout_Policy"}, min: 2, max: 2, opts: []string{"--if-exists"}, write: true, run: cmdDelZoneTP},
		{name: "list-zone-tp", tables: []string{"Datapath", "CT_Zone", "CT_Timeout_Policy"}, min: 1, max: 1, run: cmdListZoneTP},
		{name: "list-dp-cap", tables: []string{"Datapath"}, min: 1, max: 1, run: cmdListDPCap},
		// Database commands.
		{name: "comment", max: unlimited, run: func(*ctx, *cmdLine, *bytes.Buffer) error { return nil }},
		{name: "get", dbTable: true, min: 2, max: unlimited, opts: []string{"--if-exists", "--id"}, run: cmdGet},
		{name: "list", dbTable: true, min: 1, max: unlimited, opts: []string{"--if-exists", "--columns"}, run: cmdList},
		{name: "find", dbTable: true, min: 1, max: unlimited, opts: []string{"--columns"}, run: cmdFind},
		{name: "set", dbTable: true, min: 3, max: unlimited, opts: []string{"--if-exists"}, write: true, run: cmdSet},
		{name: "add", dbTable: true, min: 4, max: unlimited, opts: []string{"--if-exists"}, write: true, run: cmdAdd},
		{name: "remove", dbTable: true, min: 4, max: unlimited, opts: []string{"--if-exists"}, write: true, run: cmdRemove},
		{name: "clear", dbTable: true, min: 3, max: unlimited, opts: []string{"--if-exists"}, write: true, run: cmdClear},
		{name: "create", dbTable: true, min: 2, max: unlimited, opts: []string{"--id"}, write: true, run: cmdCreate, postRun: postCreate},
		{name: "destroy", dbTable: true, min: 1, max: unlimited, opts: []string{"--if-exists", "--all"}, write: true, run: cmdDestroy},
		{name: "wait-until", dbTable: true, min: 2, max: unlimited, run: cmdWaitUntil},
	}
}

func findCmd(name string) *cmdSpec {
	for _, s := range cmdTable {
		if s.name == name {
			return s
		}
	}
	return nil
}

// vsctlCore are the tables and columns the bridge, port and interface
// commands (and show) read; monitoring only these keeps the initial
// download small, like ovs-vsctl's own prerequisites do.
var vsctlCore = map[string][]string{
	"Open_vSwitch": nil,
	"Bridge":       {"name", "ports", "controller", "fail_mode", "external_ids", "datapath_type", "auto_attach"},
	"Port":         {"name", "interfaces", "tag", "trunks", "fake_bridge", "external_ids"},
	"Interface":    {"name", "type", "options", "ofport", "error"},
}

// neededTables maps each table to monitor to its columns (nil: all). A nil
// map means every table.
func neededTables(s *Schema, cmds []*cmdLine, specs []*cmdSpec) map[string]map[string]bool {
	need := map[string]map[string]bool{}
	all := map[string]bool{}
	for t, cols := range vsctlCore {
		if cols == nil {
			all[t] = true
			continue
		}
		need[t] = map[string]bool{}
		for _, c := range cols {
			need[t][c] = true
		}
	}
	for i, spec := range specs {
		for _, t := range spec.tables {
			if t == "*" {
				return nil
			}
			all[t] = true
		}
		if spec.dbTable && len(cmds[i].args) > 0 {
			c := &ctx{schema: s}
			if t, err := c.findTable(cmds[i].args[0]); err == nil {
				all[t.Name] = true
				for _, r := range rowIDRules[t.Name] {
					if need[r.table] == nil {
						need[r.table] = map[string]bool{}
					}
					need[r.table][r.name], need[r.table][r.via] = true, true
				}
			}
		}
	}
	for t := range all {
		need[t] = nil
	}
	return need
}

// checkCommands validates names, options and argument counts before
// anything is sent.
func checkCommands(cmds []*cmdLine) ([]*cmdSpec, error) {
	specs := make([]*cmdSpec, len(cmds))
	for i, c := range cmds {
		s := findCmd(c.name)
		if s == nil {
			return nil, fatalf("unknown command '%s'; use --help for help", c.name)
		}
		for _, o := range c.optList {
			ok := false
			for _, allowed := range s.opts {
				if allowed == o {
					ok = true
				}
			}
			if !ok {
				lo, _ := lookupLong(strings.TrimPrefix(o, "--"))
				if lo != nil && lo.cmd {
					for _, allowed := range s.opts {
						if allowed == "--"+lo.name {
							ok = true
							c.options["--"+lo.name] = c.options[o]
						}
					}
				}
				if !ok {
					return nil, fatalf("'%s' command has no '%s' option", c.name, o)
				}
			}
		}
		if len(c.args) < s.min {
			if s.min == s.max {
				return nil, fatalf("'%s' command requires at least %d arguments", c.name, s.min)
			}
			return nil, fatalf("'%s' command requires at least %d arguments", c.name, s.min)
		}
		if len(c.args) > s.max {
			msg := fmt.Sprintf("'%s' command takes at most %d arguments", c.name, s.max)
			for _, a := range c.args {
				if strings.HasPrefix(a, "--") {
					msg += " (note that options must precede command names and follow a \"--\" argument)"
					break
				}
			}
			return nil, fatalf("%s", msg)
		}
		specs[i] = s
	}
	return specs, nil
}

func (c *cmdLine) has(opt string) bool {
	_, ok := c.options[opt]
	return ok
}
