package deps

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gvswitch/gvswitch/internal/testutil"
)

// pkg is the part of `go list -json` output the checks use.
type pkg struct {
	ImportPath string
	Dir        string
	Standard   bool
	Imports    []string
	GoFiles    []string
	Error      *struct{ Err string }
}

// graph is the module's packages and their dependencies, keyed by import path.
type graph struct {
	module string
	pkgs   map[string]*pkg
	roots  []string // module packages, sorted
}

// rel returns path relative to the module root ("." for the root), or
// false for a package outside the module.
func (g *graph) rel(path string) (string, bool) {
	if path == g.module {
		return ".", true
	}
	r, ok := strings.CutPrefix(path, g.module+"/")
	return r, ok
}

// match reports whether the module-relative path rel matches pattern.
func match(pattern, rel string) bool {
	if pattern == "..." {
		return true
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return rel == base || strings.HasPrefix(rel, base+"/")
	}
	return rel == pattern
}

func matchAny(patterns []string, rel string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return match(p, rel) })
}

// chain returns the shortest import chain from one package to another.
func (g *graph) chain(from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			var path []string
			for p := to; p != ""; p = prev[p] {
				path = append(path, p)
			}
			slices.Reverse(path)
			return path
		}
		p := g.pkgs[cur]
		if p == nil {
			continue
		}
		for _, imp := range p.Imports {
			if _, seen := prev[imp]; !seen {
				prev[imp] = cur
				queue = append(queue, imp)
			}
		}
	}
	return []string{from, "?", to}
}

// deps returns every module package that p depends on, transitively.
func (g *graph) deps(root string) []string {
	seen := map[string]bool{root: true}
	stack := []string{root}
	var out []string
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		p := g.pkgs[cur]
		if p == nil {
			continue
		}
		for _, imp := range p.Imports {
			if seen[imp] {
				continue
			}
			seen[imp] = true
			if _, ok := g.rel(imp); ok {
				out = append(out, imp)
			}
			stack = append(stack, imp)
		}
	}
	slices.Sort(out)
	return out
}

// violations applies rules to g and returns one message per broken rule
// and package pair.
func violations(g *graph, rules []rule) []string {
	var out []string
	for _, from := range g.roots {
		relFrom, _ := g.rel(from)
		deps := g.deps(from)
		for _, r := range rules {
			if !match(r.from, relFrom) || matchAny(r.exempt, relFrom) {
				continue
			}
			for _, d := range deps {
				relDep, _ := g.rel(d)
				if matchAny(r.deny, relDep) && !matchAny(r.allow, relDep) {
					out = append(out, fmt.Sprintf("%s must not depend on %s (%s): %s",
						relFrom, relDep, r.why, strings.Join(g.chain(from, d), " -> ")))
				}
			}
		}
	}
	return out
}

// loadGraph runs go list in the module root.
func loadGraph(t *testing.T) *graph {
	t.Helper()
	goBin := testutil.RequireBinary(t, "go")
	root := moduleRoot(t)
	modOut, err := exec.Command(goBin, "list", "-m").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	cmd := exec.Command(goBin, "list", "-e", "-deps", "-json=ImportPath,Dir,Standard,Imports,GoFiles,Error", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	g := &graph{module: strings.TrimSpace(string(modOut)), pkgs: map[string]*pkg{}}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(pkg)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		g.pkgs[p.ImportPath] = p
		if _, ok := g.rel(p.ImportPath); ok && !p.Standard {
			g.roots = append(g.roots, p.ImportPath)
			if p.Error != nil {
				t.Logf("not checked fully, %s does not load: %s", p.ImportPath, p.Error.Err)
			}
		}
	}
	slices.Sort(g.roots)
	if len(g.roots) == 0 {
		t.Fatalf("go list found no packages of module %s", g.module)
	}
	return g
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// TestImportRules checks the real tree against rules.
func TestImportRules(t *testing.T) {
	g := loadGraph(t)
	for _, v := range violations(g, rules) {
		t.Error(v)
	}
	t.Logf("checked %d packages against %d rules", len(g.roots), len(rules))
}

// TestUnsafeInUnsafeFiles checks that only *_unsafe.go files (or
// *_unsafe_<os/arch>.go) and generated files import "unsafe".
func TestUnsafeInUnsafeFiles(t *testing.T) {
	g := loadGraph(t)
	fset := token.NewFileSet()
	for _, path := range g.roots {
		p := g.pkgs[path]
		ents, err := os.ReadDir(p.Dir)
		if err != nil {
			continue // removed while we looked
		}
		for _, e := range ents {
			name := e.Name()
			if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || strings.Contains(name, "_unsafe") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.ImportsOnly|parser.ParseComments)
			if err != nil {
				continue // mid-edit; the owner's build reports it
			}
			for _, imp := range f.Imports {
				if v, _ := strconv.Unquote(imp.Path.Value); v == "unsafe" && !isGenerated(f.Comments) {
					rel, _ := g.rel(path)
					t.Errorf("%s/%s imports unsafe: move that code to a *_unsafe.go file (STYLE rule 1)", rel, name)
				}
			}
		}
	}
}

func isGenerated(groups []*ast.CommentGroup) bool {
	for _, cg := range groups {
		for _, c := range cg.List {
			if strings.HasPrefix(c.Text, "// Code generated ") && strings.HasSuffix(c.Text, " DO NOT EDIT.") {
				return true
			}
		}
	}
	return false
}

// TestRulesCatchViolations runs the checker on a made-up graph.
func TestRulesCatchViolations(t *testing.T) {
	const m = "example.com/sw"
	imports := map[string][]string{
		"datapath":              {"datapath/packet", "fmt"},
		"datapath/packet":       nil,
		"datapath/netdev/tap":   {"datapath/netdev", "datapath/offload", "datapath/packet"},
		"datapath/netdev/bad":   {"datapath"},
		"datapath/netdev":       {"datapath/packet"},
		"datapath/offload":      nil,
		"datapath/upcall":       {"helper"},
		"helper":                {"ofproto"},
		"ofproto":               {"datapath", "ovsdb"},
		"ovsdb":                 {"jsonrpc", "ovsdb/vswitch"},
		"ovsdb/vswitch":         nil,
		"ovsdb/bad":             {"vlan"},
		"jsonrpc":               {"encoding/json"},
		"vlan":                  {"vlan/internal"},
		"vlan/internal":         nil,
		"mirror":                {"vlan"},
		"cmd/gvswitchd":         {"ofproto", "internal/testutil"},
		"internal/testutil":     {"datapath/netdev"},
		"internal/ovstest":      {"internal/testutil"},
		"datapath/netdev/dummy": {"datapath/netdev/tap"},
	}
	g := &graph{module: m, pkgs: map[string]*pkg{}}
	for rel, imps := range imports {
		p := &pkg{ImportPath: m + "/" + rel}
		for _, imp := range imps {
			if imp == "fmt" || imp == "encoding/json" {
				p.Imports = append(p.Imports, imp)
			} else {
				p.Imports = append(p.Imports, m+"/"+imp)
			}
		}
		g.pkgs[p.ImportPath] = p
		g.roots = append(g.roots, p.ImportPath)
	}
	slices.Sort(g.roots)
	got := violations(g, rules)
	want := []string{
		"cmd/gvswitchd must not depend on internal/testutil",
		"datapath/netdev/bad must not depend on datapath ",
		"datapath/upcall must not depend on ofproto",
		"datapath/upcall must not depend on ovsdb ",
		"datapath/upcall must not depend on ovsdb/vswitch",
		"mirror must not depend on vlan ",
		"mirror must not depend on vlan/internal",
		"ovsdb/bad must not depend on vlan ",
		"ovsdb/bad must not depend on vlan/internal",
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, w) }) {
			t.Errorf("missing violation %q", w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d violations, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	// The chain names the path through the helper.
	for _, v := range got {
		if strings.HasPrefix(v, "datapath/upcall must not depend on ofproto") &&
			!strings.HasSuffix(v, m+"/datapath/upcall -> "+m+"/helper -> "+m+"/ofproto") {
			t.Errorf("chain: %s", v)
		}
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, rel string
		want         bool
	}{
		{"...", "anything/at/all", true},
		{"datapath/...", "datapath", true},
		{"datapath/...", "datapath/netdev/tap", true},
		{"datapath/...", "datapathx", false},
		{"vlan", "vlan", true},
		{"vlan", "vlan/internal", false},
	}
	for _, tt := range tests {
		if got := match(tt.pattern, tt.rel); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v", tt.pattern, tt.rel, got, tt.want)
		}
	}
}
