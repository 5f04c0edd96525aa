package server_test

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gvswitch/gvswitch/internal/ovstest"
	"github.com/gvswitch/gvswitch/internal/testutil"
	"github.com/gvswitch/gvswitch/ovsdb/vswitch"
)

func vswitchSchema() []byte { return vswitch.SchemaJSON }

// ovsVsctl runs ovs-vsctl and returns its trimmed stdout, failing the test
// unless it succeeds.
func ovsVsctl(t testing.TB, sock string, args ...string) string {
	t.Helper()
	return strings.TrimSpace(ovstest.Vsctl(t, sock, args...).Check(t))
}

func dialUnix(path string) (*net.UnixConn, error) {
	return net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
}

// shortSock returns a unix socket path short enough for sun_path.
func shortSock(t testing.TB) string {
	dir, err := os.MkdirTemp("", "ovsdb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "db.sock")
}

func TestMain(m *testing.M) { testutil.VerifyNoLeaks(m) }

var indexErrRE = regexp.MustCompile(`First (row, with UUID [^,]+, .*?)  Second (row, with UUID [^,]+, .*?)(","error"|$|\n|"\})`)

// canonIndexErr puts the two rows of an index error in a fixed order:
// ovsdb-server orders them by UUID, which differ between servers.
func canonIndexErr(s string) string {
	return indexErrRE.ReplaceAllStringFunc(s, func(m string) string {
		p := indexErrRE.FindStringSubmatch(m)
		a, b := p[1], p[2]
		if a > b {
			a, b = b, a
		}
		return "Row " + a + "  Row " + b + p[3]
	})
}
