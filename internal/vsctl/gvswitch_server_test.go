//go:build gvswitchserver

package vsctl_test

import (
	"testing"

	"github.com/gvswitch/gvswitch/ovsdb/ovsdbtest"
)

// With -tags gvswitchserver, gvsctl's side of every scenario runs against
// gvswitch's in-process OVSDB server, initialised like ovstest's servers.
func init() {
	startServerOurs = func(t testing.TB) string {
		sock := "unix:" + ovsdbtest.Start(t)
		if o := runTool(t, realVsctl(t), sock, []string{"--no-wait", "init"}, 0); o.status != "exit 0" {
			t.Fatalf("init: %s %s", o.status, o.stderr)
		}
		return sock
	}
}
