package deps

// Patterns are relative to the module root: "vlan" is exactly that package,
// "datapath/..." is datapath and everything below it, "..." is every
// package of the module.

// rule forbids packages matching from (minus exempt) to depend, directly or
// through other packages, on a module package matching deny unless it also
// matches allow. Test files are not checked.
type rule struct {
	from   string
	exempt []string
	deny   []string
	allow  []string
	why    string
}

// testHelpers are imported only from _test.go files.
var testHelpers = []string{"internal/testutil/...", "internal/ovstest/...", "internal/pkttest/...", "internal/deps/..."}

var rules = []rule{
	{
		from: "datapath/...",
		deny: []string{"ofproto/...", "ovsdb/...", "cmd/...", "unixctl/..."},
		why:  "the datapath knows neither OVSDB nor OpenFlow; ofproto registers an upcall handler",
	},
	{
		from:  "datapath/netdev/...",
		deny:  []string{"datapath/..."},
		allow: []string{"datapath/packet/...", "datapath/netdev/...", "datapath/offload/..."},
		why:   "netdev providers move frames and know nothing of flows: only packet, netdev and offload",
	},
	{
		from: "ovsdb/...",
		deny: []string{"datapath/...", "ofproto/...", "vlan/...", "tunnel/...", "mirror/...", "cmd/..."},
		why:  "ovsdb is usable without the switch and imports nothing from it",
	},
	{
		from: "jsonrpc/...",
		deny: []string{"..."}, allow: []string{"jsonrpc/..."},
		why: "JSON-RPC framing is shared by ovsdb, unixctl and the CLIs and imports nothing from the switch",
	},
	{
		from: "vlan/...",
		deny: []string{"..."}, allow: []string{"vlan/..."},
		why: "vlan is a leaf of pure functions on byte slices",
	},
	{
		from: "tunnel/...",
		deny: []string{"..."}, allow: []string{"tunnel/..."},
		why: "tunnel is a leaf of pure functions on byte slices",
	},
	{
		from: "mirror/...",
		deny: []string{"..."}, allow: []string{"mirror/..."},
		why: "mirror is a leaf of pure functions",
	},
	{
		from:   "...",
		exempt: testHelpers,
		deny:   testHelpers,
		why:    "test helpers are imported only from _test.go files",
	},
}
