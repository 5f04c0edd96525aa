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
	// Static entries come from fdb/add: they never age, are never evicted
	// and learning never moves them.
	Static bool
	// Used is when the MAC was last seen (or the static entry added).
	Used time.Time
}

// Stats are the table's counters (fdb/stats-show).
type Stats struct {
	Entries, MaxEntries, Static      int
	Learned, Expired, Evicted, Moved uint64
}

// entry is a table node; it sits in the map and in the LRU list.
type entry struct {
	key        Key
	port       uint32
	static     bool
	used       time.Time
	prev, next *entry
}

// Table is one bridge's MAC learning table. It is safe for concurrent use.
type Table struct {
	now     func() time.Time
	version atomic.Uint64

	mu sync.RWMutex
	// Fields below are guarded by mu.
	entries map[Key]*entry
	lru     entry // sentinel: lru.next is least recently used
	aging   time.Duration
	max     int
	static  int
	stats   Stats
}

// New returns an empty table. aging <= 0 and maxEntries <= 0 select the
// defaults; now == nil means time.Now.
func New(aging time.Duration, maxEntries int, now func() time.Time) *Table {
	if now == nil {
		now = time.Now
	}
	t := &Table{now: now, entries: make(map[Key]*entry)}
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

// SetLimits changes the aging time and size limit. Shrinking evicts the
// least recently used learned entries at once.
func (t *Table) SetLimits(aging time.Duration, maxEntries int) {
	aging, maxEntries = normalize(aging, maxEntries)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.aging, t.max = aging, maxEntries
	for len(t.entries) > t.max {
		if !t.evictLocked() {
			break
		}
	}
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
// the table is full the least recently used learned entry is evicted; when
// every entry is static nothing is learned.
func (t *Table) Learn(vlan uint16, mac [6]byte, port uint32) bool {
	return t.LearnAt(vlan, mac, port, t.now())
}

// LearnAt is Learn with an explicit time, for refreshing entries from flow
// statistics ("used" of a megaflow). A time older than the entry's does not
// make it older.
func (t *Table) LearnAt(vlan uint16, mac [6]byte, port uint32, at time.Time) bool {
	k := Key{vlan, mac}
	now := t.now()
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
		if len(t.entries) >= t.max && !t.evictLocked() {
			return false
		}
		e = &entry{key: k, port: port, used: at}
		t.entries[k] = e
		t.pushBackLocked(e)
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
		e.port = port
		e.used = at
		t.unlinkLocked(e)
		t.pushBackLocked(e)
		t.stats.Moved++
		t.version.Add(1)
		return true
	default:
		if at.After(e.used) {
			e.used = at
			t.unlinkLocked(e)
			t.pushBackLocked(e)
		}
		return false
	}
}

// AddStatic adds (or turns an existing entry into) a static entry for mac in
// vlan on port, as fdb/add does. It reports false when the table is full of
// static entries.
func (t *Table) AddStatic(vlan uint16, mac [6]byte, port uint32) bool {
	k := Key{vlan, mac}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[k]
	if e == nil {
		if len(t.entries) >= t.max && !t.evictLocked() {
			return false
		}
		e = &entry{key: k}
		t.entries[k] = e
	} else {
		t.unlinkLocked(e)
	}
	if !e.static {
		t.static++
	}
	e.port, e.static, e.used = port, true, now
	t.pushBackLocked(e)
	t.version.Add(1)
	return true
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
	n := 0
	for e := t.lru.next; e != &t.lru; {
		next := e.next
		if !e.static && now.Sub(e.used) >= t.aging {
			t.removeLocked(e)
			t.stats.Expired++
			n++
		}
		// No early exit: refreshes from flow statistics (LearnAt
		// with an older time) leave the list only roughly ordered,
		// and a full scan of at most mac-table-size entries once a
		// second is cheap.
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

// evictLocked removes the least recently used learned entry. It reports
// false when every entry is static.
func (t *Table) evictLocked() bool {
	for e := t.lru.next; e != &t.lru; e = e.next {
		if !e.static {
			t.removeLocked(e)
			t.stats.Evicted++
			t.version.Add(1)
			return true
		}
	}
	return false
}

func (t *Table) removeLocked(e *entry) {
	t.unlinkLocked(e)
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
