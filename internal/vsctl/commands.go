package vsctl

import (
	"bytes"
	"fmt"
	"strings"
)

type handler func(c *ctx, cmd *cmdLine, out *bytes.Buffer) error

type cmdSpec struct {
	name    string
	min     int
	max     int
	opts    []string
	write   bool
	run     handler
	postRun func(c *ctx, cmd *cmdLine, out *bytes.Buffer) // after commit (e.g. create prints uuid)
}

const unlimited = 1 << 30

var cmdTable []*cmdSpec

func init() {
	cmdTable = []*cmdSpec{
		// Open vSwitch commands.
		{name: "init", write: true, run: cmdInit},
		{name: "show", run: cmdShow},
		{name: "emer-reset", write: true, run: cmdEmerReset},
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
		{name: "get-controller", min: 1, max: 1, run: cmdGetController},
		{name: "del-controller", min: 1, max: 1, write: true, run: cmdDelController},
		{name: "set-controller", min: 1, max: unlimited, opts: []string{"--inactivity-probe"}, write: true, run: cmdSetController},
		{name: "get-fail-mode", min: 1, max: 1, run: cmdGetFailMode},
		{name: "del-fail-mode", min: 1, max: 1, write: true, run: cmdDelFailMode},
		{name: "set-fail-mode", min: 2, max: 2, write: true, run: cmdSetFailMode},
		// Manager commands.
		{name: "get-manager", run: cmdGetManager},
		{name: "del-manager", write: true, run: cmdDelManager},
		{name: "set-manager", min: 1, max: unlimited, opts: []string{"--inactivity-probe"}, write: true, run: cmdSetManager},
		// SSL commands.
		{name: "get-ssl", run: cmdGetSSL},
		{name: "del-ssl", write: true, run: cmdDelSSL},
		{name: "set-ssl", min: 3, max: 3, opts: []string{"--bootstrap"}, write: true, run: cmdSetSSL},
		// Database commands.
		{name: "comment", max: unlimited, run: func(*ctx, *cmdLine, *bytes.Buffer) error { return nil }},
		{name: "get", min: 2, max: unlimited, opts: []string{"--if-exists", "--id"}, run: cmdGet},
		{name: "list", min: 1, max: unlimited, opts: []string{"--if-exists", "--columns"}, run: cmdList},
		{name: "find", min: 1, max: unlimited, opts: []string{"--columns"}, run: cmdFind},
		{name: "set", min: 3, max: unlimited, opts: []string{"--if-exists"}, write: true, run: cmdSet},
		{name: "add", min: 4, max: unlimited, opts: []string{"--if-exists"}, write: true, run: cmdAdd},
		{name: "remove", min: 4, max: unlimited, opts: []string{"--if-exists"}, write: true, run: cmdRemove},
		{name: "clear", min: 3, max: unlimited, opts: []string{"--if-exists"}, write: true, run: cmdClear},
		{name: "create", min: 2, max: unlimited, opts: []string{"--id"}, write: true, run: cmdCreate, postRun: postCreate},
		{name: "destroy", min: 1, max: unlimited, opts: []string{"--if-exists", "--all"}, write: true, run: cmdDestroy},
		{name: "wait-until", min: 2, max: unlimited, run: cmdWaitUntil},
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
