package server_test

import (
	"strings"
	"testing"

	"github.com/gvswitch/gvswitch/internal/ovstest"
	"github.com/gvswitch/gvswitch/ovsdb/vswitch"
)

func vswitchSchema() []byte { return vswitch.SchemaJSON }

// ovsVsctl runs ovs-vsctl and returns its trimmed stdout, failing the test
// unless it succeeds.
func ovsVsctl(t testing.TB, sock string, args ...string) string {
	t.Helper()
	return strings.TrimSpace(ovstest.Vsctl(t, sock, args...).Check(t))
}
