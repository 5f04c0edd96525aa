package unixctl

import (
	"fmt"
	"hash/fnv"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// VLog is what the vlog/* commands drive; internal/daemon's logger
// implements it.
type VLog interface {
	// List returns the vlog/list table.
	List() string
	// Set applies one vlog/set specification ("module:destination:level",
	// any order, "ANY" allowed, or "PATTERN:destination:pattern").
	Set(spec string) error
	// ListPattern returns the vlog/list-pattern text.
	ListPattern() string
	// Reopen reopens the log file (vlog/reopen).
	Reopen() error
	// CloseFile closes the log file (vlog/close).
	CloseFile() error
}

// RegisterVLog registers vlog/list, vlog/set, vlog/list-pattern,
// vlog/reopen and vlog/close backed by v.
func (s *Server) RegisterVLog(v VLog) {
	s.Register("vlog/list", "", 0, 0, func([]string) (string, error) { return v.List(), nil })
	s.Register("vlog/list-pattern", "", 0, 0, func([]string) (string, error) { return v.ListPattern(), nil })
	s.Register("vlog/set", "{spec | PATTERN:destination:pattern}", 0, Unbounded, func(args []string) (string, error) {
		if len(args) == 0 {
			args = []string{""} // everything to DBG, as OVS does
		}
		for _, a := range args {
			if err := v.Set(a); err != nil {
				return "", err
			}
		}
		return "", nil
	})
	s.Register("vlog/reopen", "", 0, 0, func([]string) (string, error) {
		if err := v.Reopen(); err != nil {
			return "", fmt.Errorf("cannot reopen log file: %w", err)
		}
		return "", nil
	})
	s.Register("vlog/close", "", 0, 0, func([]string) (string, error) { return "", v.CloseFile() })
}

// Coverage is a set of named event counters, shown by coverage/show in OVS's
// layout. The zero value is not usable; use NewCoverage.
type Coverage struct {
	start time.Time

	mu       sync.Mutex
	counters map[string]*atomic.Uint64
}

// NewCoverage returns an empty counter set.
func NewCoverage() *Coverage {
	return &Coverage{start: time.Now(), counters: make(map[string]*atomic.Uint64)}
}

// Counter returns the counter named name, creating it on first use. Callers
// keep the pointer and Add to it without further locking.
func (c *Coverage) Counter(name string) *atomic.Uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.counters[name]; ok {
		return p
	}
	p := new(atomic.Uint64)
	c.counters[name] = p
	return p
}

// Show returns the coverage/show text. Rates are averages since start over
// the windows OVS names, which is exact for steady event rates.
func (c *Coverage) Show() string {
	c.mu.Lock()
	names := make([]string, 0, len(c.counters))
	for n := range c.counters {
		names = append(names, n)
	}
	sort.Strings(names)
	totals := make([]uint64, len(names))
	for i, n := range names {
		totals[i] = c.counters[n].Load()
	}
	c.mu.Unlock()

	h := fnv.New32a()
	for _, n := range names {
		h.Write([]byte(n))
	}
	up := time.Since(c.start).Seconds()
	if up < 1 {
		up = 1
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Event coverage, avg rate over last: 5 seconds, last minute, last hour,  hash=%08x:\n", h.Sum32())
	never := 0
	for i, n := range names {
		if totals[i] == 0 {
			never++
			continue
		}
		r := float64(totals[i]) / up
		fmt.Fprintf(&b, "%-24s %5.1f/sec %9.3f/sec %13.4f/sec   total: %d\n", n, r, r, r, totals[i])
	}
	fmt.Fprintf(&b, "%d events never hit\n", never)
	return b.String()
}

// RegisterCoverage registers coverage/show backed by c.
func (s *Server) RegisterCoverage(c *Coverage) {
	s.Register("coverage/show", "", 0, 0, func([]string) (string, error) { return c.Show(), nil })
}

// MemoryReporter adds "key:value" usage figures to memory/show.
type MemoryReporter func(report map[string]uint64)

// RegisterMemory registers memory/show. The reply is OVS's single line of
// space-separated "key:value" pairs sorted by key; the Go runtime's heap and
// goroutine counts are always included.
func (s *Server) RegisterMemory(reporters ...MemoryReporter) {
	s.Register("memory/show", "", 0, 0, func([]string) (string, error) {
		report := make(map[string]uint64)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		report["go-heap-kB"] = ms.HeapAlloc / 1024
		report["goroutines"] = uint64(runtime.NumGoroutine())
		for _, r := range reporters {
			r(report)
		}
		keys := make([]string, 0, len(report))
		for k := range report {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s:%d", k, report[k])
		}
		return strings.Join(parts, " ") + "\n", nil
	})
}
