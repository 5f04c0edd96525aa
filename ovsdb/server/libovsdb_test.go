package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/testutil"
	"github.com/gvswitch/gvswitch/ovsdb/ovsdbtest"
	"github.com/gvswitch/gvswitch/ovsdb/vswitch"
	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"
)

// TestLibovsdbClient drives our server with libovsdb's client: connect
// (which uses _Server and monitor_cond_since), cache, create and mutate.
func TestLibovsdbClient(t *testing.T) {
	sock := "unix:" + ovsdbtest.Start(t)
	ovsVsctl(t, sock, "--no-wait", "init")
	dbModel, err := vswitch.FullDatabaseModel()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.NewOVSDBClient(dbModel, client.WithEndpoint(sock))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer c.Close()
	if _, err := c.MonitorAll(ctx); err != nil {
		t.Fatalf("monitor: %v", err)
	}
	var ovsRows []vswitch.OpenvSwitch
	if err := c.List(ctx, &ovsRows); err != nil || len(ovsRows) != 1 {
		t.Fatalf("list Open_vSwitch: %v %d", err, len(ovsRows))
	}
	br := &vswitch.Bridge{UUID: "newbr", Name: "gobr", ExternalIDs: map[string]string{"k": "v"}}
	ops, err := c.Create(br)
	if err != nil {
		t.Fatal(err)
	}
	mops, err := c.Where(&ovsRows[0]).Mutate(&ovsRows[0], model.Mutation{
		Field: &ovsRows[0].Bridges, Mutator: ovsdb.MutateOperationInsert, Value: []string{"newbr"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Transact(ctx, append(ops, mops...)...)
	if err != nil {
		t.Fatalf("transact: %v", err)
	}
	if _, err := ovsdb.CheckOperationResults(res, append(ops, mops...)); err != nil {
		t.Fatalf("transact results: %v", err)
	}
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool {
		b := &vswitch.Bridge{Name: "gobr"}
		return c.Get(ctx, b) == nil && b.ExternalIDs["k"] == "v"
	}, "bridge never reached libovsdb's cache")
	if got := ovsVsctl(t, sock, "list-br"); got != "gobr" {
		t.Fatalf("list-br = %q", got)
	}
}
