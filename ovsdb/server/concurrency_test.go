package server_test

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/ovsdb/ovsdbtest"
)

var (
	cfgRE  = regexp.MustCompile(`"next_cfg":(\d+)`)
	cfgRE2 = regexp.MustCompile(`"cur_cfg":(\d+)`)
)

// TestConcurrentClients runs writers, readers and monitors at once: every
// increment must land exactly once, every monitor must see every commit in
// order, and readers must always see a consistent row.
func TestConcurrentClients(t *testing.T) {
	sock := "unix:" + ovsdbtest.Start(t)
	ovsVsctl(t, sock, "--no-wait", "init")
	const writers, perWriter, monitors = 8, 40, 5
	mons := make([]*rawClient, monitors)
	for i := range mons {
		mons[i] = dialRaw(t, sock)
		mons[i].call(`{"id":1,"method":"monitor_cond","params":["Open_vSwitch",["m"],{"Open_vSwitch":[{"columns":["next_cfg","cur_cfg"]}]}]}`)
	}
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := dialRaw(t, sock)
			for i := 0; i < perWriter; i++ {
				msgs := c.call(fmt.Sprintf(`{"id":%d,"method":"transact","params":["Open_vSwitch",`+
					`{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1],["cur_cfg","+=",1]]}]}`, i))
				if !strings.Contains(msgs[len(msgs)-1], `[{"count":1}]`) {
					t.Errorf("writer: %v", msgs)
					return
				}
			}
		}()
	}
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := dialRaw(t, sock)
			for i := 0; i < 50; i++ {
				msgs := c.call(fmt.Sprintf(`{"id":%d,"method":"transact","params":["Open_vSwitch",`+
					`{"op":"select","table":"Open_vSwitch","where":[],"columns":["next_cfg","cur_cfg"]}]}`, i))
				m := msgs[len(msgs)-1]
				a, b := cfgRE.FindStringSubmatch(m), cfgRE2.FindStringSubmatch(m)
				if a == nil || b == nil || a[1] != b[1] {
					t.Errorf("inconsistent read %s", m)
					return
				}
			}
		}()
	}
	wg.Wait()
	total := writers * perWriter
	for _, m := range mons {
		for want := 1; want <= total; want++ {
			u := m.next(10 * time.Second)
			if !strings.Contains(u, fmt.Sprintf(`"next_cfg":%d`, want)) {
				t.Fatalf("monitor: update %d is %s", want, u)
			}
		}
	}
	if got := ovsVsctl(t, sock, "get", "Open_vSwitch", ".", "next_cfg"); got != fmt.Sprint(total) {
		t.Fatalf("next_cfg = %s, want %d", got, total)
	}
}
