package vsctl_test

// Differential tests: every command line runs through the real ovs-vsctl
// and through gvsctl, and stdout, stderr and the exit status (or signal)
// must match byte for byte, after two normalisations:
//
//   - UUIDs are replaced by <uuid-N>, numbered by order of first appearance
//     within one tool's run of a scenario, because twin servers assign
//     different UUIDs to the rows the commands create;
//   - log-line timestamps ("2026-01-02T03:04:05Z|") become "<time>|".
//
// Scenarios that write run on twin servers (same initial database, same
// command sequence); at the end the two databases must hold the same rows
// up to UUIDs (ovsdb-client dump). Read-only scenarios run both tools against one server,
// so row order, which depends on UUIDs, is compared exactly too.
//
// The server under test is pluggable: startServer returns the socket of a
// freshly initialised Open_vSwitch database.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/ovstest"
	"github.com/gvswitch/gvswitch/internal/testutil"
)

// startServer starts a server for one twin and returns its "unix:" remote.
// Replace it to run the suite against another OVSDB server.
var startServer = func(t testing.TB) string {
	return ovstest.StartOVSDBServer(t, nil).Sock
}

// startServerOurs starts the server gvsctl talks to in twin scenarios (and
// both tools in shared ones). By default it is the same as startServer;
// building the tests with -tags gvswitchserver makes it gvswitch's own
// OVSDB server, so the suite compares ovs-vsctl+ovsdb-server with
// gvsctl+gvswitch.
var startServerOurs = func(t testing.TB) string { return startServer(t) }

var (
	buildOnce sync.Once
	gvsctlBin string
	buildErr  error
)

// gvsctl builds cmd/gvsctl once per test binary.
func gvsctl(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gvsctl-test")
		if err != nil {
			buildErr = err
			return
		}
		gvsctlBin = filepath.Join(dir, "ovs-vsctl")
		out, err := exec.Command("go", "build", "-o", gvsctlBin, "github.com/gvswitch/gvswitch/cmd/gvsctl").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return gvsctlBin
}

func realVsctl(t testing.TB) string {
	t.Helper()
	p, err := testutil.LookBinary("ovs-vsctl")
	testutil.Require(t, err == nil, "ovs-vsctl not installed: %v", err)
	_, err = testutil.LookBinary("ovsdb-server")
	testutil.Require(t, err == nil, "ovsdb-server not installed: %v", err)
	return p
}

var (
	uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	timeRE = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|`)
)

// normaliser renames UUIDs by order of first appearance.
type normaliser struct{ ids map[string]string }

func (n *normaliser) apply(s string) string {
	if n.ids == nil {
		n.ids = map[string]string{}
	}
	s = timeRE.ReplaceAllString(s, "<time>|")
	return uuidRE.ReplaceAllStringFunc(s, func(u string) string {
		if u == "00000000-0000-0000-0000-000000000000" {
			return u
		}
		if id, ok := n.ids[u]; ok {
			return id
		}
		id := fmt.Sprintf("<uuid-%d>", len(n.ids)+1)
		n.ids[u] = id
		return id
	})
}

type outcome struct {
	stdout, stderr string
	status         string
}

func runTool(t testing.TB, bin, sock string, args []string, timeout time.Duration) outcome {
	t.Helper()
	r, err := ovstest.Exec(context.Background(), ovstest.Cmd{
		Bin: bin, Args: append([]string{"--db=" + sock}, args...), Timeout: timeout,
	})
	if err != nil {
		return outcome{stdout: r.Stdout, stderr: r.Stderr, status: "error: " + err.Error()}
	}
	status := fmt.Sprintf("exit %d", r.ExitCode)
	if r.Signal != 0 {
		status = "signal " + r.Signal.String()
	}
	// getopt messages and logged command lines show argv[0], which differs
	// between the tools, and twin servers have different sockets.
	stderr := strings.ReplaceAll(r.Stderr, bin, "<prog>")
	stderr = strings.ReplaceAll(stderr, sock, "<sock>")
	return outcome{stdout: r.Stdout, stderr: stderr, status: status}
}

// tally counts compared command lines for the summary.
var tally struct {
	sync.Mutex
	pass, fail int
}

func record(ok bool) {
	tally.Lock()
	defer tally.Unlock()
	if ok {
		tally.pass++
	} else {
		tally.fail++
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if tally.pass+tally.fail > 0 {
		fmt.Printf("differential command lines: %d pass, %d fail\n", tally.pass, tally.fail)
	}
	if gvsctlBin != "" {
		os.RemoveAll(filepath.Dir(gvsctlBin))
	}
	os.Exit(code)
}

func compare(t *testing.T, args []string, want, got outcome, nw, ng *normaliser) {
	t.Helper()
	if isHelp(args) {
		// The help text is gvsctl's own prose (Open vSwitch's may not be
		// copied); what must match is every command and option it lists.
		want.stdout, got.stdout = helpSyntax(want.stdout), helpSyntax(got.stdout)
	}
	w := outcome{nw.apply(want.stdout), nw.apply(want.stderr), want.status}
	g := outcome{ng.apply(got.stdout), ng.apply(got.stderr), got.status}
	ok := w == g
	record(ok)
	if !ok {
		t.Errorf("ovs-vsctl %s\n--- ovs-vsctl: %s\n%s%s--- gvsctl: %s\n%s%s", strings.Join(args, " "),
			w.status, w.stdout, prefixLines("stderr| ", w.stderr), g.status, g.stdout, prefixLines("stderr| ", g.stderr))
	}
}

func isHelp(args []string) bool {
	for _, a := range args {
		if a == "--help" || a == "-h" {
			return true
		}
	}
	return false
}

// helpSyntax keeps the syntax of a help text: the command and option
// words of each two-space-indented line (not the descriptions, which are
// lower-case prose), and the schema-derived record-naming lines.
func helpSyntax(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		indent := len(l) - len(strings.TrimLeft(l, " "))
		switch {
		case indent == 4:
			b.WriteString(l + "\n")
		case indent == 2:
			syntax, _, _ := strings.Cut(l[2:], "  ")
			fields := strings.Fields(syntax)
			n := 1
			for n < len(fields) && isSyntaxWord(fields[n]) {
				n++
			}
			b.WriteString(strings.Join(fields[:n], " ") + "\n")
		}
	}
	return b.String()
}

// isSyntaxWord tells a help line's argument words (BRIDGE, [--if-exists],
// COL[:KEY]=VALUE, --format=FORMAT) from its description's words.
func isSyntaxWord(w string) bool {
	if strings.ContainsAny(w, "[]=:|.-") {
		return true
	}
	return strings.ToUpper(w) == w && strings.ToLower(w) != w
}

func sortLines(s string) string {
	l := strings.SplitAfter(s, "\n")
	sort.Strings(l)
	return strings.Join(l, "")
}

func prefixLines(p, s string) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString(p + l)
		}
	}
	if !strings.HasSuffix(s, "\n") {
		b.WriteString("\n")
	}
	return b.String()
}

// scenario is a list of command lines run in order.
type scenario struct {
	name string
	// setup runs through the real ovs-vsctl on every server first.
	setup [][]string
	steps [][]string
	// bump keeps cur_cfg up to date (stand-in for ovs-vswitchd).
	bump bool
	// timeout per command.
	timeout time.Duration
}

// runTwins runs a writing scenario on two servers, one per tool.
func runTwins(t *testing.T, sc scenario) {
	real, ours := realVsctl(t), gvsctl(t)
	sockA, sockB := startServer(t), startServerOurs(t)
	for _, sock := range []string{sockA, sockB} {
		for _, s := range sc.setup {
			if o := runTool(t, real, sock, s, 0); o.status != "exit 0" {
				t.Fatalf("setup %v: %s %s", s, o.status, o.stderr)
			}
		}
		if sc.bump {
			ovstest.CurCfgBumper(t, sock)
		}
	}
	var nw, ng normaliser
	for _, args := range sc.steps {
		sorted := len(args) > 0 && args[0] == "@sort"
		if sorted {
			args = args[1:]
		}
		want := runTool(t, real, sockA, args, sc.timeout)
		got := runTool(t, ours, sockB, args, sc.timeout)
		if sorted {
			// Row order depends on the UUIDs, which differ between twins.
			want.stdout, got.stdout = sortLines(nw.apply(want.stdout)), sortLines(ng.apply(got.stdout))
		}
		compare(t, args, want, got, &nw, &ng)
	}
	// The databases must end up with the same contents, up to UUIDs.
	want, got := dumpDB(t, sockA), dumpDB(t, sockB)
	if want != got {
		t.Errorf("database contents differ after the scenario:\n--- ovs-vsctl's:\n%s--- gvsctl's:\n%s", want, got)
	}
}

// dumpDB returns the database contents as sorted CSV lines with every
// UUID (row ids, references, _version) replaced by one placeholder.
func dumpDB(t *testing.T, sock string) string {
	client, err := testutil.LookBinary("ovsdb-client")
	testutil.Require(t, err == nil, "ovsdb-client not installed: %v", err)
	r, err := ovstest.Exec(context.Background(), ovstest.Cmd{Bin: client, Args: []string{"--format=csv", "--no-headings", "dump", sock, "Open_vSwitch"}})
	if err != nil || !r.OK() {
		t.Fatalf("ovsdb-client dump: %v %s", err, r.Stderr)
	}
	return sortLines(uuidRE.ReplaceAllString(r.Stdout, "<uuid>"))
}

// runShared runs read-only command lines with both tools on one server.
func runShared(t *testing.T, sc scenario) {
	real, ours := realVsctl(t), gvsctl(t)
	sock := startServerOurs(t)
	for _, s := range sc.setup {
		if o := runTool(t, real, sock, s, 0); o.status != "exit 0" {
			t.Fatalf("setup %v: %s %s", s, o.status, o.stderr)
		}
	}
	for _, args := range sc.steps {
		var nw, ng normaliser
		want := runTool(t, real, sock, args, sc.timeout)
		got := runTool(t, ours, sock, args, sc.timeout)
		compare(t, args, want, got, &nw, &ng)
	}
}

func TestDifferentialWrites(t *testing.T) {
	for _, sc := range writeScenarios() {
		t.Run(sc.name, func(t *testing.T) { runTwins(t, sc) })
	}
}

func TestDifferentialReads(t *testing.T) {
	for _, sc := range readScenarios() {
		t.Run(sc.name, func(t *testing.T) { runShared(t, sc) })
	}
}

// TestNoServer covers errors that need no database at all.
func TestNoServer(t *testing.T) {
	real, ours := realVsctl(t), gvsctl(t)
	sock := "unix:" + filepath.Join(t.TempDir(), "nothing.sock")
	for _, args := range noServerCases() {
		var nw, ng normaliser
		want := runTool(t, real, sock, args, 0)
		got := runTool(t, ours, sock, args, 0)
		compare(t, args, want, got, &nw, &ng)
	}
}

// TestEnvironment covers defaults taken from OVS_RUNDIR and OVS_LOGDIR.
func TestEnvironment(t *testing.T) {
	real, ours := realVsctl(t), gvsctl(t)
	dir := t.TempDir()
	env := []string{"OVS_RUNDIR=" + dir + "/run", "OVS_LOGDIR=" + dir + "/log"}
	for _, args := range lines("--help", "list-br", "-t 1 --retry list-br") {
		var nw, ng normaliser
		run := func(bin string) outcome {
			r, err := ovstest.Exec(context.Background(), ovstest.Cmd{Bin: bin, Args: args, Env: env, Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			status := fmt.Sprintf("exit %d", r.ExitCode)
			if r.Signal != 0 {
				status = "signal " + r.Signal.String()
			}
			return outcome{r.Stdout, r.Stderr, status}
		}
		compare(t, args, run(real), run(ours), &nw, &ng)
	}
}
