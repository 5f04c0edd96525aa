package ovstest

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/gvswitch/gvswitch/internal/testutil"
)

// DebianSchema is where Debian's openvswitch-common installs the
// Open_vSwitch schema.
const DebianSchema = "/usr/share/openvswitch/vswitch.ovsschema"

// Binaries holds the absolute paths of the Open vSwitch tools.
type Binaries struct {
	Vsctl       string // ovs-vsctl
	OvsdbServer string // ovsdb-server
	OvsdbClient string // ovsdb-client
	OvsdbTool   string // ovsdb-tool
	Appctl      string // ovs-appctl
	Ofctl       string // ovs-ofctl
}

// LookBinaries finds every tool in PATH, /usr/bin or /usr/sbin. It returns
// the paths it found and an error naming the ones it did not.
func LookBinaries() (Binaries, error) {
	var b Binaries
	var missing []string
	for _, x := range []struct {
		name string
		p    *string
	}{
		{"ovs-vsctl", &b.Vsctl},
		{"ovsdb-server", &b.OvsdbServer},
		{"ovsdb-client", &b.OvsdbClient},
		{"ovsdb-tool", &b.OvsdbTool},
		{"ovs-appctl", &b.Appctl},
		{"ovs-ofctl", &b.Ofctl},
	} {
		p, err := testutil.LookBinary(x.name)
		if err != nil {
			missing = append(missing, x.name)
			continue
		}
		*x.p = p
	}
	if len(missing) > 0 {
		return b, fmt.Errorf("open vswitch tools not found: %s (Debian packages openvswitch-common, openvswitch-switch)", strings.Join(missing, ", "))
	}
	return b, nil
}

// FindBinaries returns every tool's path, or skips the test (fails it in
// CI) naming the missing ones.
func FindBinaries(t testing.TB) Binaries {
	t.Helper()
	b, err := LookBinaries()
	testutil.Require(t, err == nil, "%v", err)
	return b
}

// RequireSchema returns DebianSchema, or skips (fails in CI) when it is
// missing.
func RequireSchema(t testing.TB) string {
	t.Helper()
	_, err := os.Stat(DebianSchema)
	testutil.Require(t, !errors.Is(err, os.ErrNotExist), "open vswitch schema %s missing", DebianSchema)
	return DebianSchema
}
