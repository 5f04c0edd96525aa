package maclearn

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// LocalPort is OFPP_LOCAL, printed as "LOCAL" by Show.
const LocalPort uint32 = 65534

// Defaults used when a Config field is zero (Open vSwitch 3.1's defaults).
const (
	DefaultAgingTime  = 300 * time.Second
	DefaultMaxEntries = 8192
)

// refreshGranularity is how stale a learned entry may get before an
// unchanged re-learn takes the write lock to refresh it. Ages are shown in
// whole seconds and aging times are at least 15 s, so one second loses
// nothing visible while keeping the common upcall on the read lock.
const refreshGranularity = time.Second

// Key identifies an entry: a MAC address within a VLAN.
type Key struct {
	VLAN uint16
	MAC  [6]byte
}

// Entry is a copy of one table entry.
type Entry struct {
	Key
	// Port is the OpenFlow port number the MAC was learned on.
	Port uint32
	// Static entries come from fdb/add: they never age and learning
	// never moves them, but a full table may evict them (as Open vSwitch
	// 3.1 does).
	Static bool
	// Used is when the MAC was last seen (or the static entry added).
	Used time.Time
}

// Stats are the table's counters (fdb/stats-show).
type Stats struct {
	Entries, MaxEntries, Static      int
	Learned, Expired, Evicted, Moved uint64
}

// entry is a table node; it sits in the map, in the table's LRU list and
// in its port's LRU list.
type entry struct {
	key          Key
	port         uint32
	static       bool
	used         time.Time
	prev, next   *entry // table LRU
	pprev, pnext *entry // port LRU
	pl           *portList
}

// portList is the LRU list of one port's entries (static ones included, as
// in Open vSwitch), with its place in the table's heap of ports by entry
// count, which eviction takes from.
type portList struct {
	head entry // sentinel: head.pnext is least recently used
	port uint32
	n    int
	idx  int // position in Table.heap
}

// Table is one bridge's MAC learning table. It is safe for concurrent use.
type Table struct {
	now     func() time.Time
	version atomic.Uint64

	mu sync.RWMutex
	// Fields below are guarded by mu.
	entries map[Key]*entry
	lru     entry // sentinel: lru.next is least recently used
	ports   map[uint32]*portList
	heap    []*portList // max-heap by n: heap[0] has the most entries
	aging   time.Duration
	max     int
	static  int
	stats   Stats
	// changed lists the MACs (as MACBits) whose Lookup answer changed
	// since the last TakeChanges (in any VLAN), duplicates included;
	// overflow is set instead when there were more than maxChanges. A
	// port sending from more MACs than the table holds logs two changes
	// per learned MAC, and a revalidation pass re-learns tens of
	// thousands: appending to a list costs a few ns where a set insert
	// (a cache miss in a set of 100k) cost 100-160 ns, under the write
	// lock. TakeChanges deduplicates into the caller's set.
	changed  []uint64
	overflow bool
}

// maxChanges bounds the change log (2 MiB, duplicates counted): past it
// TakeChanges reports an overflow and the caller revalidates everything.
const maxChanges = 1 << 18

// New returns an empty table. aging <= 0 and maxEntries <= 0 select the
// defaults; now == nil means time.Now.
func New(aging time.Duration, maxEntries int, now func() time.Time) *Table {
	if now == nil {
		now = time.Now
	}
	t := &Table{now: now, entries: make(map[Key]*entry), ports: make(map[uint32]*portList)}
	t.lru.prev, t.lru.next = &t.lru, &t.lru
	t.aging, t.max = normalize(aging, maxEntries)
	return t
}

func normalize(aging time.Duration, maxEntries int) (time.Duration, int) {
	if aging <= 0 {
		aging = DefaultAgingTime
	}
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	return aging, maxEntries
}

// Version returns a counter that changes whenever Lookup could answer
// differently: an entry added, moved or removed (not when one is merely
// refreshed).
func (t *Table) Version() uint64 { return t.version.Load() }

// SetLimits changes the aging time and size limit. Shrinking removes the
// least recently used learned entries at once, counted as expired (as Open
// vSwitch's periodic run does); static entries stay even above the limit.
func (t *Table) SetLimits(aging time.Duration, maxEntries int) {
	aging, maxEntries = normalize(aging, maxEntries)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.aging, t.max = aging, maxEntries
	t.expireLocked(func(e *entry) (remove, more bool) {
		return !e.static, len(t.entries) > t.max
	})
}

// MACBits is mac as the low 48 bits of a uint64, the form TakeChanges
// reports MACs in.
func MACBits(mac [6]byte) uint64 {
	return uint64(mac[0])<<40 | uint64(mac[1])<<32 | uint64(mac[2])<<24 |
		uint64(mac[3])<<16 | uint64(mac[4])<<8 | uint64(mac[5])
}

// TakeChanges adds to into the MACs (as MACBits) whose Lookup answer (in
// some VLAN) changed since the previous call: learned, moved, evicted, expired,
// flushed, static entries added or deleted. It reports false instead when
// more changed than the log holds; the caller must then assume everything
// changed. A revalidator uses it to re-translate only the megaflows to those
// destinations.
func (t *Table) TakeChanges(into map[uint64]struct{}) bool {
	_, ok := t.TakeChangesFunc(func(m uint64) { into[m] = struct{}{} })
	return ok
}

// TakeChangesFunc is TakeChanges for a revalidator that filters or
// timestamps the changes itself: it calls fn, with the table locked, for
// each change logged since the previous call (duplicates included, oldest
// first) and returns how many there were. It reports ok=false, calling fn
// for none, when the log overflowed. fn must not call the table.
func (t *Table) TakeChangesFunc(fn func(mac uint64)) (n int, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ok = !t.overflow
	if ok {
		n = len(t.changed)
		for _, m := range t.changed {
			fn(m)
		}
	}
	t.changed = t.changed[:0]
	t.overflow = false
	return n, ok
}

// recordLocked notes that lookups of mac may answer differently now.
func (t *Table) recordLocked(mac [6]byte) {
	if t.overflow {
		return
	}
	if len(t.changed) >= maxChanges {
		t.overflow = true
		t.changed = t.changed[:0]
		return
	}
	t.changed = append(t.changed, MACBits(mac))
}

// Lookup returns the port on which mac was learned in vlan. An entry older
// than the aging time counts as absent even before Expire removes it.
func (t *Table) Lookup(vlan uint16, mac [6]byte) (port uint32, ok bool) {
	now := t.now()
	t.mu.RLock()
	e := t.entries[Key{vlan, mac}]
	if e != nil && (e.static || now.Sub(e.used) < t.aging) {
		port, ok = e.port, true
	}
	t.mu.RUnlock()
	return port, ok
}

// Learn records that mac was seen in vlan on port now. It returns true when
// the answer of Lookup changed (a new entry or a move), which is when
// installed flows need revalidation. Static entries are never moved. When
// the table is full an entry is evicted first: the least recently used
// entry of the port with the most entries (static entries included, as in
// Open vSwitch 3.1), so that one port flooding the table with new source
// addresses cannot push the other ports' hosts out of it.
func (t *Table) Learn(vlan uint16, mac [6]byte, port uint32) bool {
	return t.LearnAt(vlan, mac, port, t.now())
}

// LearnAt is Learn with an explicit time, for refreshing entries from flow
// statistics ("used" of a megaflow). A time older than the entry's does not
// make it older.
func (t *Table) LearnAt(vlan uint16, mac [6]byte, port uint32, at time.Time) bool {
	return t.RefreshAt(vlan, mac, port, at, t.now())
}

// RefreshAt is LearnAt with the current time given by the caller: a
// revalidation pass refreshing 100k MACs reads the clock once instead of
// once per MAC.
func (t *Table) RefreshAt(vlan uint16, mac [6]byte, port uint32, at, now time.Time) bool {
	k := Key{vlan, mac}
	t.mu.RLock()
	if now.Sub(at) >= t.aging {
		t.mu.RUnlock()
		return false // already too old to be learned
	}
	e := t.entries[k]
	fresh := e != nil && (e.static || (e.port == port && at.Sub(e.used) < refreshGranularity))
	t.mu.RUnlock()
	if fresh {
		return false
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	e = t.entries[k]
	switch {
	case e == nil:
		if len(t.entries) >= t.max {
			e = t.evictLocked()
		}
		// A full table recycles the evicted node: with more active
		// MACs than entries every learn evicts, and refreshes from
		// flow statistics re-learn thousands of MACs per pass.
		if e == nil {
			e = new(entry)
		}
		*e = entry{key: k, port: port, used: at}
		t.entries[k] = e
		t.pushBackLocked(e)
		t.attachLocked(e)
		t.recordLocked(k.MAC)
		t.stats.Learned++
		t.version.Add(1)
		return true
	case e.static:
		return false
	case e.port != port:
		if at.Before(e.used) {
			// Stale evidence (statistics of a flow from before
			// the move) never moves an entry back.
			return false
		}
		t.detachLocked(e)
		e.port = port
		e.used = at
		t.unlinkLocked(e)
		t.pushBackLocked(e)
		t.attachLocked(e)
		t.recordLocked(k.MAC)
		t.stats.Moved++
		t.version.Add(1)
		return true
	default:
		if at.After(e.used) {
			e.used = at
			t.unlinkLocked(e)
			t.pushBackLocked(e)
			t.touchLocked(e)
		}
		return false
	}
}

// AddStatic adds (or turns an existing entry into) a static entry for mac in
// vlan on port, as fdb/add does. Like a learned one, a new static entry
// evicts an entry when the table is full (as in Open vSwitch 3.1, whose
// fdb/add never fails for a full table).
func (t *Table) AddStatic(vlan uint16, mac [6]byte, port uint32) {
	k := Key{vlan, mac}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[k]
	if e == nil {
		if len(t.entries) >= t.max {
			t.evictLocked()
		}
		e = &entry{key: k}
		t.entries[k] = e
	} else {
		t.unlinkLocked(e)
		t.detachLocked(e)
	}
	if !e.static {
		t.static++
	}
	e.port, e.static, e.used = port, true, now
	t.pushBackLocked(e)
	t.attachLocked(e)
	t.recordLocked(mac)
	t.version.Add(1)
}

// DelStatic removes the static entry for mac in vlan (fdb/del). It reports
// false when there is no such static entry.
func (t *Table) DelStatic(vlan uint16, mac [6]byte) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[Key{vlan, mac}]
	if e == nil || !e.static {
		return false
	}
	t.removeLocked(e)
	t.version.Add(1)
	return true
}

// Expire removes learned entries idle for the aging time or longer and
// returns how many it removed.
func (t *Table) Expire() int {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	// No early exit: refreshes from flow statistics (LearnAt with an
	// older time) leave the list only roughly ordered, and a full scan of
	// at most mac-table-size entries once a second is cheap.
	return t.expireLocked(func(e *entry) (remove, more bool) {
		return !e.static && now.Sub(e.used) >= t.aging, true
	})
}

// expireLocked walks the LRU list from the oldest entry while more is set
// (checked before each entry), removes the entries remove picks and counts
// them as expired, and bumps the version if anything went.
func (t *Table) expireLocked(pick func(e *entry) (remove, more bool)) int {
	n := 0
	for e := t.lru.next; e != &t.lru; {
		next := e.next
		remove, more := pick(e)
		if !more {
			break
		}
		if remove {
			t.removeLocked(e)
			t.stats.Expired++
			n++
		}
		e = next
	}
	if n > 0 {
		t.version.Add(1)
	}
	return n
}

// Flush removes every learned entry (static ones stay, as in OVS's
// fdb/flush) and returns how many it removed.
func (t *Table) Flush() int {
	return t.flush(func(e *entry) bool { return !e.static })
}

// FlushPort removes every entry, static or not, on port (the port was
// deleted or its VLAN configuration changed).
func (t *Table) FlushPort(port uint32) int {
	return t.flush(func(e *entry) bool { return e.port == port })
}

func (t *Table) flush(match func(*entry) bool) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for e := t.lru.next; e != &t.lru; {
		next := e.next
		if match(e) {
			t.removeLocked(e)
			n++
		}
		e = next
	}
	if n > 0 {
		t.version.Add(1)
	}
	return n
}

// Entries returns copies of every entry, least recently used first.
func (t *Table) Entries() []Entry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]Entry, 0, len(t.entries))
	for e := t.lru.next; e != &t.lru; e = e.next {
		out = append(out, Entry{Key: e.key, Port: e.port, Static: e.static, Used: e.used})
	}
	return out
}

// Len returns the number of entries.
func (t *Table) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.entries)
}

// Stats returns the counters.
func (t *Table) Stats() Stats {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s := t.stats
	s.Entries, s.MaxEntries, s.Static = len(t.entries), t.max, t.static
	return s
}

// ClearStats zeroes the learned, expired, evicted and moved counters
// (fdb/stats-clear).
func (t *Table) ClearStats() {
	t.mu.Lock()
	t.stats = Stats{}
	t.mu.Unlock()
}

// Show returns the table in fdb/show's format: a header, then one line per
// entry, least recently used first, with the port ("LOCAL" for 65534), the
// VLAN, the MAC and the age in seconds ("static" for static entries).
func (t *Table) Show() string {
	now := t.now()
	var b strings.Builder
	b.WriteString(" port  VLAN  MAC                Age\n")
	for _, e := range t.Entries() {
		port := fmt.Sprint(e.Port)
		if e.Port == LocalPort {
			port = "LOCAL"
		}
		m := e.MAC
		fmt.Fprintf(&b, "%5s  %4d  %02x:%02x:%02x:%02x:%02x:%02x  ", port, e.VLAN, m[0], m[1], m[2], m[3], m[4], m[5])
		if e.Static {
			b.WriteString("static\n")
		} else {
			age := now.Sub(e.Used) / time.Second
			if age < 0 {
				age = 0
			}
			fmt.Fprintf(&b, "%3d\n", int64(age))
		}
	}
	return b.String()
}

// ShowStats returns fdb/stats-show's text for bridge.
func (t *Table) ShowStats(bridge string) string {
	s := t.Stats()
	var b strings.Builder
	fmt.Fprintf(&b, "Statistics for bridge \"%s\":\n", bridge)
	fmt.Fprintf(&b, "  Current/maximum MAC entries in the table: %d/%d\n", s.Entries, s.MaxEntries)
	fmt.Fprintf(&b, "  Current static MAC entries in the table : %d\n", s.Static)
	fmt.Fprintf(&b, "  Total number of learned MAC entries     : %d\n", s.Learned)
	fmt.Fprintf(&b, "  Total number of expired MAC entries     : %d\n", s.Expired)
	fmt.Fprintf(&b, "  Total number of evicted MAC entries     : %d\n", s.Evicted)
	fmt.Fprintf(&b, "  Total number of port moved MAC entries  : %d\n", s.Moved)
	return b.String()
}

// evictLocked removes the least recently used entry of the port with the
// most entries and returns it (nil when the table is empty), for reuse.
func (t *Table) evictLocked() *entry {
	if len(t.heap) == 0 {
		return nil
	}
	e := t.heap[0].head.pnext
	t.removeLocked(e)
	t.stats.Evicted++
	t.version.Add(1)
	return e
}

func (t *Table) removeLocked(e *entry) {
	t.unlinkLocked(e)
	t.detachLocked(e)
	t.recordLocked(e.key.MAC)
	delete(t.entries, e.key)
	if e.static {
		t.static--
	}
}

func (t *Table) unlinkLocked(e *entry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

func (t *Table) pushBackLocked(e *entry) {
	e.prev = t.lru.prev
	e.next = &t.lru
	t.lru.prev.next = e
	t.lru.prev = e
}

// attachLocked appends e to the LRU list of e.port, creating the list.
func (t *Table) attachLocked(e *entry) {
	pl := t.ports[e.port]
	if pl == nil {
		pl = &portList{port: e.port, idx: len(t.heap)}
		pl.head.pprev, pl.head.pnext = &pl.head, &pl.head
		t.ports[e.port] = pl
		t.heap = append(t.heap, pl)
	}
	e.pl = pl
	e.pprev = pl.head.pprev
	e.pnext = &pl.head
	pl.head.pprev.pnext = e
	pl.head.pprev = e
	pl.n++
	t.heapUp(pl.idx)
}

// touchLocked makes e the most recently used entry of its port.
func (t *Table) touchLocked(e *entry) {
	pl := e.pl
	e.pprev.pnext = e.pnext
	e.pnext.pprev = e.pprev
	e.pprev = pl.head.pprev
	e.pnext = &pl.head
	pl.head.pprev.pnext = e
	pl.head.pprev = e
}

// detachLocked takes e out of its port's list, dropping an emptied list.
func (t *Table) detachLocked(e *entry) {
	pl := e.pl
	e.pprev.pnext = e.pnext
	e.pnext.pprev = e.pprev
	e.pprev, e.pnext, e.pl = nil, nil, nil
	pl.n--
	if pl.n > 0 {
		t.heapDown(pl.idx)
		return
	}
	delete(t.ports, pl.port)
	last := len(t.heap) - 1
	i := pl.idx
	t.heapSwap(i, last)
	t.heap[last] = nil
	t.heap = t.heap[:last]
	if i < last {
		t.heapDown(i)
		t.heapUp(i)
	}
}

func (t *Table) heapSwap(i, j int) {
	t.heap[i], t.heap[j] = t.heap[j], t.heap[i]
	t.heap[i].idx, t.heap[j].idx = i, j
}

func (t *Table) heapUp(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if t.heap[p].n >= t.heap[i].n {
			return
		}
		t.heapSwap(i, p)
		i = p
	}
}

func (t *Table) heapDown(i int) {
	for {
		l, big := 2*i+1, i
		if l < len(t.heap) && t.heap[l].n > t.heap[big].n {
			big = l
		}
		if r := l + 1; r < len(t.heap) && t.heap[r].n > t.heap[big].n {
			big = r
		}
		if big == i {
			return
		}
		t.heapSwap(i, big)
		i = big
	}
}
