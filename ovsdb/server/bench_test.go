package server_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/ovstest"
	"github.com/gvswitch/gvswitch/internal/testutil"
	"github.com/gvswitch/gvswitch/ovsdb/ovsdbtest"
)

// debianServer starts Debian's ovsdb-server for a comparison, or returns ""
// when it is not installed.
func debianServer(b *testing.B) string {
	if _, err := ovstest.LookBinaries(); err != nil {
		return ""
	}
	return ovstest.StartOVSDBServer(b, &ovstest.Options{SchemaJSON: vswitchSchema()}).Sock
}

func oursPersistent(b *testing.B) string {
	sock, _ := ovsdbtest.StartWith(b, ovsdbtest.Options{Persistent: true})
	ovsVsctl(b, "unix:"+sock, "--no-wait", "init")
	return "unix:" + sock
}

// runTxns runs n single-row durable transactions spread over conns
// connections and returns the rate in transactions per second.
func runTxns(b *testing.B, sock string, n, conns int) float64 {
	cs := make([]*rawClient, conns)
	for i := range cs {
		cs[i] = dialRaw(b, sock)
	}
	var wg sync.WaitGroup
	start := time.Now()
	for ci, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := ci; i < n; i += conns {
				req := fmt.Sprintf(`{"id":%d,"method":"transact","params":["Open_vSwitch",`+
					`{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["external_ids","delete",["set",["k%d"]]],["external_ids","insert",["map",[["k%d","%d"]]]]]},`+
					`{"op":"commit","durable":true}]}`, i, ci, ci, i)
				c.send(req)
				if m := c.next(10 * time.Second); !strings.Contains(m, `"result":[{"count":1},{}]`) {
					b.Errorf("transaction %d: %s", i, m)
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkDurableTxn measures single-row transactions that must reach the
// disk before their reply (commit durable:true), sequentially and from 16
// concurrent clients (group commit), against Debian's ovsdb-server in the
// same run.
func BenchmarkDurableTxn(b *testing.B) {
	for _, conns := range []int{1, 16} {
		b.Run(fmt.Sprintf("clients=%d", conns), func(b *testing.B) {
			ours := oursPersistent(b)
			deb := debianServer(b)
			b.ResetTimer()
			rate := runTxns(b, ours, max(b.N, conns), conns)
			b.ReportMetric(rate, "txn/s")
			if deb != "" {
				b.StopTimer()
				debRate := runTxns(b, deb, max(b.N, conns), conns)
				b.ReportMetric(debRate, "debian-txn/s")
				b.ReportMetric(rate/debRate, "x-debian")
			}
		})
	}
}

func bigPortTxn(n int, tag string) string {
	var sb strings.Builder
	sb.WriteString(`["Open_vSwitch"`)
	var ports []string
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, `,{"op":"insert","table":"Interface","uuid-name":"i%d","row":{"name":"%s%d","type":"internal","external_ids":["map",[["iface-id","x%d"]]]}}`, i, tag, i, i)
		fmt.Fprintf(&sb, `,{"op":"insert","table":"Port","uuid-name":"p%d","row":{"name":"%s%d","interfaces":["named-uuid","i%d"],"tag":%d}}`, i, tag, i, i, i%4000)
		ports = append(ports, fmt.Sprintf(`["named-uuid","p%d"]`, i))
	}
	fmt.Fprintf(&sb, `,{"op":"mutate","table":"Bridge","where":[["name","==","br0"]],"mutations":[["ports","insert",["set",[%s]]]]}]`, strings.Join(ports, ","))
	return sb.String()
}

func time1000(b *testing.B, sock string, iters int) time.Duration {
	ovsVsctl(b, sock, "--no-wait", "--may-exist", "add-br", "br0")
	c := dialRaw(b, sock)
	var total time.Duration
	for i := 0; i < iters; i++ {
		req := `{"id":1,"method":"transact","params":` + bigPortTxn(1000, fmt.Sprintf("t%dp", i)) + `}`
		start := time.Now()
		msgs := c.call(req)
		total += time.Since(start)
		if m := msgs[len(msgs)-1]; strings.Contains(m, `"error":"`) || m == "" {
			b.Fatalf("1000-port transaction: %.300s", m)
		}
		// Drop the ports again so every iteration inserts 1000 new ones.
		c.call(`{"id":2,"method":"transact","params":["Open_vSwitch",{"op":"update","table":"Bridge","where":[["name","==","br0"]],"row":{"ports":["set",[]]}}]}`)
	}
	return total / time.Duration(iters)
}

// Benchmark1000Ports measures one transaction adding 1000 ports with their
// interfaces to a bridge (named-uuid references, index and reference
// checks, monitor-free), on a persistent database, against Debian.
func Benchmark1000Ports(b *testing.B) {
	ours := oursPersistent(b)
	deb := debianServer(b)
	b.ResetTimer()
	per := time1000(b, ours, b.N)
	b.ReportMetric(float64(per.Microseconds())/1000, "ms/txn")
	if deb != "" {
		b.StopTimer()
		dper := time1000(b, deb, max(1, min(b.N, 5)))
		b.ReportMetric(float64(dper.Microseconds())/1000, "debian-ms/txn")
		b.ReportMetric(float64(dper)/float64(per), "x-debian")
	}
}

// fanout measures how long it takes until n monitoring clients have all
// received the update for one commit, averaged over iters commits.
func fanout(b *testing.B, sock string, n, iters int) time.Duration {
	clients := make([]*rawClient, n)
	for i := range clients {
		c := dialRaw(b, sock)
		c.call(`{"id":1,"method":"monitor_cond","params":["Open_vSwitch",["m"],{"Bridge":[{"columns":["name","external_ids"]}],"Open_vSwitch":[{"columns":["next_cfg"]}]}]}`)
		clients[i] = c
	}
	w := dialRaw(b, sock)
	var total time.Duration
	for it := 0; it < iters; it++ {
		start := time.Now()
		w.call(fmt.Sprintf(`{"id":1,"method":"transact","params":["Open_vSwitch",{"op":"mutate","table":"Bridge","where":[],"mutations":[["external_ids","insert",["map",[["k%d","v"]]]]]},{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]}]}`, it))
		for _, c := range clients {
			if m := c.next(10 * time.Second); !strings.Contains(m, "update2") {
				b.Fatalf("client got %q", m)
			}
		}
		total += time.Since(start)
	}
	return total / time.Duration(iters)
}

// BenchmarkMonitorFanout measures one commit's update reaching 100
// monitoring clients, against Debian.
func BenchmarkMonitorFanout(b *testing.B) {
	ours := oursPersistent(b)
	ovsVsctl(b, ours, "--no-wait", "add-br", "br0")
	deb := debianServer(b)
	b.ResetTimer()
	per := fanout(b, ours, 100, b.N)
	b.ReportMetric(float64(per.Microseconds()), "µs/commit")
	if deb != "" {
		b.StopTimer()
		ovsVsctl(b, deb, "--no-wait", "add-br", "br0")
		dper := fanout(b, deb, 100, max(1, min(b.N, 50)))
		b.ReportMetric(float64(dper.Microseconds()), "debian-µs/commit")
		b.ReportMetric(float64(dper)/float64(per), "x-debian")
	}
}

var _ = testutil.InCI
