package server_test

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/ovstest"
	"github.com/gvswitch/gvswitch/internal/testutil"
	"github.com/gvswitch/gvswitch/jsonrpc"
)

// debianServer starts Debian's ovsdb-server for a comparison, or returns ""
// when it is not installed.
func debianServer(b *testing.B) string {
	if _, err := ovstest.LookBinaries(); err != nil {
		return ""
	}
	return ovstest.StartOVSDBServer(b, &ovstest.Options{SchemaJSON: vswitchSchema()}).Sock
}

// oursPersistent starts our server in a child process, as Debian's runs.
func oursPersistent(b *testing.B) string { return startChild(b).Sock }

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
				c.send(durableReq(i, ci))
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

// durableReq is transaction i of client ci in runTxns and runPipelined.
func durableReq(i, ci int) string {
	return fmt.Sprintf(`{"id":%d,"method":"transact","params":["Open_vSwitch",`+
		`{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["external_ids","delete",["set",["k%d"]]],["external_ids","insert",["map",[["k%d","%d"]]]]]},`+
		`{"op":"commit","durable":true}]}`, i, ci, ci, i)
}

// runPipelined runs n durable transactions on one connection with up to
// inflight requests sent ahead of their replies, checks that the replies
// come in request order, and returns the rate in transactions per second.
func runPipelined(b *testing.B, sock string, n, inflight int) float64 {
	c := dialRaw(b, sock)
	window := make(chan struct{}, inflight)
	stop := make(chan struct{})
	defer close(stop)
	start := time.Now()
	go func() {
		for i := 0; i < n; i++ {
			select {
			case window <- struct{}{}:
			case <-stop:
				return
			}
			if err := c.c.WriteRaw([]byte(durableReq(i, 0))); err != nil {
				return
			}
		}
	}()
	for i := 0; i < n; i++ {
		m := c.next(10 * time.Second)
		if !strings.HasPrefix(m, fmt.Sprintf(`{"id":%d,`, i)) || !strings.Contains(m, `"result":[{"count":1},{}]`) {
			b.Fatalf("reply %d: %.300s", i, m)
		}
		<-window
	}
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkDurableTxn measures single-row transactions that must reach the
// disk before their reply (commit durable:true), sequentially and from 16
// concurrent clients (group commit), and from one client that keeps 16
// requests in flight on its connection, against Debian's ovsdb-server in
// the same run.
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
	// One client with requests in flight also reports each server's CPU
	// time per transaction.
	const inflight = 16
	b.Run(fmt.Sprintf("clients=1,inflight=%d", inflight), func(b *testing.B) {
		ours := startChild(b)
		var deb *ovstest.Server
		if _, err := ovstest.LookBinaries(); err == nil {
			deb = ovstest.StartOVSDBServer(b, &ovstest.Options{SchemaJSON: vswitchSchema()})
		}
		n := max(b.N, inflight)
		b.ResetTimer()
		cpu0 := procCPU(b, ours.Pid)
		rate := runPipelined(b, ours.Sock, n, inflight)
		cpu := (procCPU(b, ours.Pid) - cpu0) / time.Duration(n)
		b.ReportMetric(rate, "txn/s")
		b.ReportMetric(float64(cpu.Microseconds()), "cpu-µs/txn")
		if deb != nil {
			b.StopTimer()
			dcpu0 := procCPU(b, deb.Pid())
			debRate := runPipelined(b, deb.Sock, n, inflight)
			dcpu := (procCPU(b, deb.Pid()) - dcpu0) / time.Duration(n)
			b.ReportMetric(debRate, "debian-txn/s")
			b.ReportMetric(float64(dcpu.Microseconds()), "debian-cpu-µs/txn")
			b.ReportMetric(rate/debRate, "x-debian")
		}
	})
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
		req := []byte(`{"id":1,"method":"transact","params":` + bigPortTxn(1000, fmt.Sprintf("t%dp", i)) + `}`)
		// Only sending the request and framing the reply are timed: the
		// client does not decode its own request or the reply's contents
		// (rawClient.call does both) until the clock has stopped.
		start := time.Now()
		if err := c.c.WriteRaw(req); err != nil {
			b.Fatal(err)
		}
		var reply *jsonrpc.Message
		select {
		case reply = <-c.msgs:
		case <-time.After(10 * time.Second):
		}
		total += time.Since(start)
		if reply == nil || string(reply.ID) != "1" || reply.Error != nil || bytes.Contains(reply.Result, []byte(`"error":"`)) {
			var m []byte
			if reply != nil {
				m = reply.Marshal()
			}
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

// fanCounter counts update notifications received by the fan-out clients.
type fanCounter struct {
	got  atomic.Int64
	want atomic.Int64
	done chan struct{}
	bad  atomic.Pointer[string]
}

// fanClient is a monitoring client that only frames messages and checks
// that each is an update2 notification: the benchmark's clients should cost
// as little as possible so that the number is the server's.
func fanClient(b *testing.B, sock string, fc *fanCounter) {
	b.Helper()
	nc, err := net.Dial("unix", strings.TrimPrefix(sock, "unix:"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { nc.Close() })
	ready := make(chan struct{})
	go func() {
		buf := make([]byte, 64<<10)
		var msg []byte
		depth, inStr, esc, first := 0, false, false, true
		for {
			n, err := nc.Read(buf)
			if err != nil {
				return
			}
			for _, c := range buf[:n] {
				if depth == 0 && c != '{' {
					continue // white space between messages
				}
				msg = append(msg, c)
				switch {
				case inStr:
					switch {
					case esc:
						esc = false
					case c == '\\':
						esc = true
					case c == '"':
						inStr = false
					}
				case c == '"':
					inStr = true
				case c == '{' || c == '[':
					depth++
				case c == '}' || c == ']':
					depth--
				}
				if depth > 0 {
					continue
				}
				switch {
				case first:
					first = false
					close(ready)
				case !bytes.Contains(msg, []byte(`"update2"`)):
					s := string(msg)
					fc.bad.Store(&s)
					select {
					case fc.done <- struct{}{}:
					default:
					}
				default:
					if fc.got.Add(1) == fc.want.Load() {
						select {
						case fc.done <- struct{}{}:
						default:
						}
					}
				}
				msg = msg[:0]
			}
		}
	}()
	req := `{"id":1,"method":"monitor_cond","params":["Open_vSwitch",["m"],{"Bridge":[{"columns":["name","external_ids"]}],"Open_vSwitch":[{"columns":["next_cfg"]}]}]}`
	if _, err := nc.Write([]byte(req)); err != nil {
		b.Fatal(err)
	}
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		b.Fatal("no monitor reply")
	}
}

// fanout measures how long it takes until n monitoring clients have all
// received the update for one commit, averaged over iters commits, and
// the server process's CPU time per commit.
func fanout(b *testing.B, sock string, pid, n, iters int) (wall, cpu time.Duration) {
	fc := &fanCounter{done: make(chan struct{}, 1)}
	for range n {
		fanClient(b, sock, fc)
	}
	w := dialRaw(b, sock)
	var total time.Duration
	cpu0 := procCPU(b, pid)
	for it := 0; it < iters; it++ {
		fc.want.Store(int64(n * (it + 1)))
		start := time.Now()
		w.call(fmt.Sprintf(`{"id":1,"method":"transact","params":["Open_vSwitch",{"op":"mutate","table":"Bridge","where":[],"mutations":[["external_ids","insert",["map",[["k%d","v"]]]]]},{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]}]}`, it))
		select {
		case <-fc.done:
		case <-time.After(10 * time.Second):
			b.Fatalf("commit %d: %d of %d updates", it, fc.got.Load(), fc.want.Load())
		}
		if p := fc.bad.Load(); p != nil {
			b.Fatalf("client got %.300q", *p)
		}
		total += time.Since(start)
	}
	cpu = procCPU(b, pid) - cpu0
	return total / time.Duration(iters), cpu / time.Duration(iters)
}

// BenchmarkMonitorFanout measures one commit's update2 reaching 100
// monitoring clients (wall time until the last has it, and the server
// process's CPU time per commit), our server and Debian's each in a child
// process, with the same number of commits.
func BenchmarkMonitorFanout(b *testing.B) {
	ours := startChild(b)
	ovsVsctl(b, ours.Sock, "--no-wait", "add-br", "br0")
	var deb *ovstest.Server
	if _, err := ovstest.LookBinaries(); err == nil {
		deb = ovstest.StartOVSDBServer(b, &ovstest.Options{SchemaJSON: vswitchSchema()})
		ovsVsctl(b, deb.Sock, "--no-wait", "add-br", "br0")
	}
	b.ResetTimer()
	per, cpu := fanout(b, ours.Sock, ours.Pid, 100, b.N)
	b.ReportMetric(float64(per.Microseconds()), "µs/commit")
	b.ReportMetric(float64(cpu.Microseconds()), "cpu-µs/commit")
	if deb != nil {
		b.StopTimer()
		dper, dcpu := fanout(b, deb.Sock, deb.Pid(), 100, b.N)
		b.ReportMetric(float64(dper.Microseconds()), "debian-µs/commit")
		b.ReportMetric(float64(dcpu.Microseconds()), "debian-cpu-µs/commit")
		b.ReportMetric(float64(dper)/float64(per), "x-debian")
		b.ReportMetric(float64(dcpu)/float64(max(cpu, 1)), "x-debian-cpu")
	}
}

// load10k adds 10 000 ports, each with one interface, to bridge br0 in ten
// 1000-port transactions.
func load10k(b *testing.B, sock string) {
	ovsVsctl(b, sock, "--no-wait", "--may-exist", "add-br", "br0")
	c := dialRaw(b, sock)
	for i := range 10 {
		req := `{"id":1,"method":"transact","params":` + bigPortTxn(1000, fmt.Sprintf("t%dp", i)) + `}`
		msgs := c.call(req)
		if m := msgs[len(msgs)-1]; strings.Contains(m, `"error":"`) || m == "" {
			b.Fatalf("1000-port transaction: %.300s", m)
		}
	}
}

// BenchmarkMemory10kPorts reports the resident memory of our server and of
// Debian's ovsdb-server, each in its own process, after both loaded the
// same 10 000 ports and interfaces. Run it with -benchtime=1x; the loop
// count does not matter.
func BenchmarkMemory10kPorts(b *testing.B) {
	ours := startChild(b)
	base := procRSS(b, ours.Pid)
	load10k(b, ours.Sock)
	rss := procRSS(b, ours.Pid)
	b.ReportMetric(float64(rss)/(1<<20), "MiB")
	b.ReportMetric(float64(base)/(1<<20), "empty-MiB")
	if _, err := ovstest.LookBinaries(); err == nil {
		deb := ovstest.StartOVSDBServer(b, &ovstest.Options{SchemaJSON: vswitchSchema()})
		dbase := procRSS(b, deb.Pid())
		load10k(b, deb.Sock)
		drss := procRSS(b, deb.Pid())
		b.ReportMetric(float64(drss)/(1<<20), "debian-MiB")
		b.ReportMetric(float64(dbase)/(1<<20), "debian-empty-MiB")
		b.ReportMetric(float64(drss)/float64(rss), "x-debian")
	}
}

var _ = testutil.InCI
