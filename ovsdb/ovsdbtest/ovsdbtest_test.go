package ovsdbtest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/jsonrpc"
	"github.com/gvswitch/gvswitch/ovsdb/ovsdbtest"
)

func TestStart(t *testing.T) {
	for _, persistent := range []bool{false, true} {
		sock, srv := ovsdbtest.StartWith(t, ovsdbtest.Options{Persistent: persistent})
		c, err := jsonrpc.Dial("unix:"+sock, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Write(jsonrpc.NewRequest("list_dbs", []any{}, 0)); err != nil {
			t.Fatal(err)
		}
		m, err := c.Read()
		if err != nil {
			t.Fatal(err)
		}
		if got := string(m.Result); got != `["Open_vSwitch","_Server"]` {
			t.Fatalf("list_dbs = %s", got)
		}
		c.Close()
		if strings.Join(srv.ListRemotes(), " ") != "punix:"+sock {
			t.Fatalf("remotes %v", srv.ListRemotes())
		}
	}
}
