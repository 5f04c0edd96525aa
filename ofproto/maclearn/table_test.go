package maclearn

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a manually advanced clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func mac(i int) [6]byte { return [6]byte{0x50, 0x54, 0, 0, byte(i >> 8), byte(i)} }

func TestLearnLookupMove(t *testing.T) {
	clk := newClock()
	tb := New(0, 0, clk.Now)
	v0 := tb.Version()
	if !tb.Learn(10, mac(1), 1) {
		t.Fatal("first learn reported no change")
	}
	if tb.Version() == v0 {
		t.Fatal("version did not change on learn")
	}
	if p, ok := tb.Lookup(10, mac(1)); !ok || p != 1 {
		t.Fatalf("lookup = %d,%v", p, ok)
	}
	if _, ok := tb.Lookup(20, mac(1)); ok {
		t.Fatal("entry leaked into another VLAN")
	}
	v1 := tb.Version()
	if tb.Learn(10, mac(1), 1) {
		t.Fatal("re-learn on the same port reported a change")
	}
	if tb.Version() != v1 {
		t.Fatal("version changed on refresh")
	}
	if !tb.Learn(10, mac(1), 2) {
		t.Fatal("move not reported")
	}
	if p, _ := tb.Lookup(10, mac(1)); p != 2 {
		t.Fatalf("after move port = %d", p)
	}
	s := tb.Stats()
	if s.Learned != 1 || s.Moved != 1 || s.Entries != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestAging(t *testing.T) {
	clk := newClock()
	tb := New(60*time.Second, 0, clk.Now)
	tb.Learn(0, mac(1), 1)
	clk.Advance(30 * time.Second)
	tb.Learn(0, mac(2), 2)
	clk.Advance(29 * time.Second)
	if n := tb.Expire(); n != 0 {
		t.Fatalf("expired %d too early", n)
	}
	clk.Advance(time.Second) // mac(1) is now exactly 60 s old
	if _, ok := tb.Lookup(0, mac(1)); ok {
		t.Fatal("aged entry still answers lookups")
	}
	v := tb.Version()
	if n := tb.Expire(); n != 1 {
		t.Fatalf("expired %d, want 1", n)
	}
	if tb.Version() == v {
		t.Fatal("version unchanged after expiry")
	}
	if _, ok := tb.Lookup(0, mac(2)); !ok {
		t.Fatal("young entry expired")
	}
	// Refreshing keeps an entry alive.
	clk.Advance(20 * time.Second)
	tb.LearnAt(0, mac(2), 2, clk.Now())
	clk.Advance(50 * time.Second)
	if n := tb.Expire(); n != 0 {
		t.Fatalf("refreshed entry expired (%d)", n)
	}
	// A refresh at an older time does not make an entry older.
	tb.LearnAt(0, mac(2), 2, clk.Now().Add(-time.Hour))
	if _, ok := tb.Lookup(0, mac(2)); !ok {
		t.Fatal("old refresh aged the entry")
	}
	if s := tb.Stats(); s.Expired != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestEvictionLRU(t *testing.T) {
	clk := newClock()
	tb := New(0, 3, clk.Now)
	for i := 1; i <= 3; i++ {
		tb.Learn(0, mac(i), 1)
		clk.Advance(2 * time.Second)
	}
	tb.Learn(0, mac(1), 1) // mac(1) becomes most recently used
	clk.Advance(2 * time.Second)
	tb.Learn(0, mac(4), 1) // evicts mac(2)
	if _, ok := tb.Lookup(0, mac(2)); ok {
		t.Fatal("LRU entry not evicted")
	}
	for _, i := range []int{1, 3, 4} {
		if _, ok := tb.Lookup(0, mac(i)); !ok {
			t.Fatalf("mac %d evicted", i)
		}
	}
	if s := tb.Stats(); s.Evicted != 1 || s.Entries != 3 || s.MaxEntries != 3 {
		t.Fatalf("stats %+v", s)
	}
	var order []int
	for _, e := range tb.Entries() {
		order = append(order, int(e.MAC[5]))
	}
	if fmt.Sprint(order) != "[3 1 4]" {
		t.Fatalf("LRU order %v", order)
	}
	tb.SetLimits(0, 1)
	if tb.Len() != 1 {
		t.Fatalf("shrink left %d entries", tb.Len())
	}
	if _, ok := tb.Lookup(0, mac(4)); !ok {
		t.Fatal("shrink removed the most recent entry")
	}
	if s := tb.Stats(); s.Evicted != 1 || s.Expired != 2 {
		t.Fatalf("shrink counted %+v, want expired (as OVS's run does)", s)
	}
}

// TestEvictionFair is what ovs-vswitchd 3.1 does with mac-table-size=10,
// hosts on ports 2 and 3, then 20 new source MACs on port 1 (checked with
// netdev-dummy/receive and fdb/show): the busiest port loses its least
// recently used entries, the quiet ports keep theirs.
func TestEvictionFair(t *testing.T) {
	clk := newClock()
	tb := New(0, 10, clk.Now)
	tb.Learn(0, mac(200), 2)
	tb.Learn(0, mac(201), 3)
	for i := 0; i < 20; i++ {
		tb.Learn(0, mac(i), 1)
	}
	for _, m := range []int{200, 201} {
		if _, ok := tb.Lookup(0, mac(m)); !ok {
			t.Fatalf("quiet port's mac %d evicted", m)
		}
	}
	for i := 0; i < 20; i++ {
		if _, ok := tb.Lookup(0, mac(i)); ok != (i >= 12) {
			t.Fatalf("mac %d present %v", i, ok)
		}
	}
	if s := tb.Stats(); s.Learned != 22 || s.Evicted != 12 || s.Entries != 10 {
		t.Fatalf("stats %+v", s)
	}
	// A move changes which port an entry counts for.
	for i := 12; i < 17; i++ {
		tb.Learn(0, mac(i), 3)
	}
	// Ports 1 and 3 now hold 3 and 6 entries: port 3 is the busiest, and
	// its least recently used entry is mac(201).
	tb.Learn(0, mac(50), 4)
	if _, ok := tb.Lookup(0, mac(201)); ok {
		t.Fatal("busiest port's LRU entry kept")
	}
	if _, ok := tb.Lookup(0, mac(17)); !ok {
		t.Fatal("less busy port's entry evicted")
	}
}

func TestStatic(t *testing.T) {
	clk := newClock()
	tb := New(15*time.Second, 2, clk.Now)
	tb.AddStatic(5, mac(1), LocalPort)
	if tb.Learn(5, mac(1), 3) {
		t.Fatal("learning moved a static entry")
	}
	clk.Advance(time.Hour)
	tb.Expire()
	if p, ok := tb.Lookup(5, mac(1)); !ok || p != LocalPort {
		t.Fatalf("static entry lost: %d %v", p, ok)
	}
	tb.Learn(5, mac(2), 2)
	tb.Learn(5, mac(3), 3) // ports tie at one entry each: one is evicted
	if tb.Len() != 2 {
		t.Fatalf("len %d", tb.Len())
	}
	tb.Flush()
	tb.AddStatic(5, mac(1), LocalPort)
	if tb.Len() != 1 {
		t.Fatalf("flush left %d entries, want the static one", tb.Len())
	}
	if !tb.DelStatic(5, mac(1)) || tb.DelStatic(5, mac(1)) {
		t.Fatal("DelStatic")
	}
	// As in Open vSwitch 3.1, static entries count for their port and
	// a full table evicts them too: fdb/add never fails for lack of room.
	tb.AddStatic(1, mac(7), 1)
	tb.AddStatic(1, mac(8), 1)
	tb.AddStatic(1, mac(9), 2)
	if _, ok := tb.Lookup(1, mac(7)); ok {
		t.Fatal("busiest port's oldest static entry kept")
	}
	if !tb.Learn(1, mac(10), 2) {
		t.Fatal("learning into a table full of static entries failed")
	}
	if s := tb.Stats(); s.Static != 1 || s.Entries != 2 || s.Evicted != 3 {
		t.Fatalf("stats %+v", s)
	}
}

func TestFlushPort(t *testing.T) {
	tb := New(0, 0, nil)
	tb.Learn(0, mac(1), 1)
	tb.Learn(0, mac(2), 2)
	tb.AddStatic(0, mac(3), 1)
	if n := tb.FlushPort(1); n != 2 {
		t.Fatalf("FlushPort removed %d", n)
	}
	if tb.Len() != 1 {
		t.Fatalf("len %d", tb.Len())
	}
}

func TestShowFormat(t *testing.T) {
	clk := newClock()
	tb := New(0, 0, clk.Now)
	tb.Learn(0, [6]byte{0x50, 0x54, 0, 0, 0, 1}, 1)
	clk.Advance(109 * time.Second)
	tb.Learn(10, [6]byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}, LocalPort)
	tb.AddStatic(4095, [6]byte{0x50, 0x54, 0, 0, 0, 0x33}, 12345)
	clk.Advance(1500 * time.Millisecond)
	want := " port  VLAN  MAC                Age\n" +
		"    1     0  50:54:00:00:00:01  110\n" +
		"LOCAL    10  aa:bb:cc:dd:ee:ff    1\n" +
		"12345  4095  50:54:00:00:00:33  static\n"
	if got := tb.Show(); got != want {
		t.Fatalf("Show:\n%q\nwant\n%q", got, want)
	}
	stats := tb.ShowStats("br0")
	wantStats := "Statistics for bridge \"br0\":\n" +
		"  Current/maximum MAC entries in the table: 3/8192\n" +
		"  Current static MAC entries in the table : 1\n" +
		"  Total number of learned MAC entries     : 2\n" +
		"  Total number of expired MAC entries     : 0\n" +
		"  Total number of evicted MAC entries     : 0\n" +
		"  Total number of port moved MAC entries  : 0\n"
	if stats != wantStats {
		t.Fatalf("ShowStats:\n%s\nwant\n%s", stats, wantStats)
	}
	tb.ClearStats()
	if !strings.Contains(tb.ShowStats("br0"), "learned MAC entries     : 0\n") {
		t.Fatal("ClearStats")
	}
}

func TestConcurrent(t *testing.T) {
	tb := New(0, 64, nil)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				tb.Learn(uint16(i%3), mac(i%100), uint32(g))
				tb.Lookup(uint16(i%3), mac(i%50))
				if i%500 == 0 {
					tb.Expire()
					_ = tb.Show()
				}
			}
		}(g)
	}
	wg.Wait()
	if tb.Len() > 64 {
		t.Fatalf("table grew to %d past its limit", tb.Len())
	}
}

func BenchmarkLearnRefresh(b *testing.B) {
	tb := New(0, 0, nil)
	tb.Learn(1, mac(1), 1)
	b.ReportAllocs()
	for b.Loop() {
		tb.Learn(1, mac(1), 1)
	}
}

func BenchmarkLookup(b *testing.B) {
	tb := New(0, 0, nil)
	for i := 0; i < 1000; i++ {
		tb.Learn(1, mac(i), 1)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tb.Lookup(1, mac(i%1000))
		i++
	}
}

func TestLearnAtStale(t *testing.T) {
	clk := newClock()
	tb := New(60*time.Second, 0, clk.Now)
	old := clk.Now()
	clk.Advance(10 * time.Second)
	tb.Learn(0, mac(1), 2) // moved to port 2 at t=10s
	if tb.LearnAt(0, mac(1), 1, old) {
		t.Fatal("stale statistics moved the entry back")
	}
	if p, _ := tb.Lookup(0, mac(1)); p != 2 {
		t.Fatalf("port %d", p)
	}
	if tb.LearnAt(0, mac(2), 1, clk.Now().Add(-61*time.Second)) {
		t.Fatal("learned from statistics older than the aging time")
	}
	if tb.LearnAt(0, mac(1), 1, clk.Now().Add(time.Second)) != true {
		t.Fatal("newer evidence did not move the entry")
	}
}

func TestTakeChanges(t *testing.T) {
	clk := newClock()
	tb := New(15*time.Second, 2, clk.Now)
	take := func() (string, bool) {
		got := make(map[uint64]struct{})
		ok := tb.TakeChanges(got)
		var ms []int
		for m := range got {
			ms = append(ms, int(m&0xff))
		}
		slices.Sort(ms)
		return fmt.Sprint(ms), ok
	}
	tb.Learn(0, mac(1), 1)
	tb.Learn(0, mac(1), 1) // refresh: no change
	tb.Learn(7, mac(2), 1)
	if got, ok := take(); got != "[1 2]" || !ok {
		t.Fatalf("learned: %s %v", got, ok)
	}
	tb.Learn(7, mac(2), 2) // move
	tb.Learn(0, mac(3), 3) // evicts mac(1), the older entry of port 1
	if got, _ := take(); got != "[1 2 3]" {
		t.Fatalf("move and eviction: %s", got)
	}
	clk.Advance(time.Minute)
	tb.Expire()
	tb.AddStatic(0, mac(4), 1)
	if got, _ := take(); got != "[2 3 4]" {
		t.Fatalf("expiry and static: %s", got)
	}
	if got, ok := take(); got != "[]" || !ok {
		t.Fatalf("nothing changed: %s %v", got, ok)
	}
}

func TestTakeChangesFunc(t *testing.T) {
	tb := New(15*time.Second, 2, newClock().Now)
	var got []uint64
	take := func() (int, bool) {
		got = got[:0]
		return tb.TakeChangesFunc(func(m uint64) { got = append(got, m) })
	}
	tb.Learn(0, mac(1), 1)
	tb.Learn(0, mac(2), 2)
	if n, ok := take(); n != 2 || !ok || !slices.Equal(got, []uint64{MACBits(mac(1)), MACBits(mac(2))}) {
		t.Fatalf("took %d %v: %v", n, ok, got)
	}
	tb.Learn(0, mac(3), 3) // evicts mac(1): two changes
	if n, ok := take(); n != 2 || !ok || !slices.Equal(got, []uint64{MACBits(mac(1)), MACBits(mac(3))}) {
		t.Fatalf("took %d %v: %v", n, ok, got)
	}
	if n, ok := take(); n != 0 || !ok || len(got) != 0 {
		t.Fatalf("nothing changed: %d %v %v", n, ok, got)
	}
}
