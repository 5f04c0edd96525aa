package ofproto

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gvswitch/gvswitch/ofproto/xlate"
)

// Xlate is the translation side ofproto drives: *xlate.Xlate implements it.
// Its appctl-facing extras (FDB, Trace, ...) are found by type assertion.
type Xlate interface {
	Publish(cfg *xlate.Config)
}

// Options configure a Vswitch.
type Options struct {
	// DB is the database session (see DialDB).
	DB DB
	// Datapath receives ports; Opener opens their devices.
	Datapath Datapath
	Opener   Opener
	// Xlate receives each new configuration snapshot; nil disables it.
	Xlate Xlate
	// OnConfigChange runs after a new snapshot is published, to revalidate
	// or flush installed flows. Optional.
	OnConfigChange func()
	// Links reads kernel link state; nil uses netlink.
	Links LinkSource
	// Log is the "bridge" module's logger; nil discards.
	Log *slog.Logger
	// Version is written to Open_vSwitch ovs_version.
	Version string
	// FormatFlow renders flows for dpctl/dump-flows; nil uses a built-in
	// format.
	FormatFlow FlowFormatter
	// SystemID and RunDir go to Open_vSwitch external_ids (system-id,
	// rundir) unless already set; empty ones are skipped.
	SystemID, RunDir string
	// Count bumps a coverage counter (coverage/show); nil ignores. The
	// events are listed in CoverageEvents.
	Count func(event string)
}

// CoverageEvents are the counters ofproto bumps through Options.Count.
var CoverageEvents = []string{"bridge_reconfigure", "txn_error", "iface_added", "iface_deleted", "iface_error", "link_event", "replica_resync"}

func (v *Vswitch) count(event string) {
	if v.opts.Count != nil {
		v.opts.Count(event)
	}
}

// Version strings written at startup.
const (
	// DBVersion is the Open_vSwitch schema version gvswitch embeds.
	DBVersion = "8.3.1"
)

// Vswitch is the vswitchd layer: it reconciles the database into the
// datapath and writes ofport, error, cur_cfg and status back.
type Vswitch struct {
	opts Options
	log  *slog.Logger
	kick chan struct{}

	mu        sync.Mutex // guards the fields below
	rec       *reconciler
	spec      *Spec
	tuned     *tuning // datapath settings last applied (applyTuningLocked)
	linkCache map[string]LinkInfo

	passWanted atomic.Bool // a reconfigure pass was requested (requestPass)

	linkMu     sync.Mutex // guards the link event queue only
	linkQueue  map[string]linkEvent
	linkResync bool
	lastStats  time.Time

	cache      *specCache // used by the Run goroutine only
	ownLinks   bool       // opts.Links was created by New; Run closes it
	staleCfg   int64      // checkReplica: server next_cfg seen ahead once
	extIDsDone string     // root uuid whose external_ids were written
	runDone    chan struct{}
	ready      chan struct{} // closed after the first complete pass
	readyOnce  sync.Once
}

// New creates a Vswitch; Run starts it.
func New(opts Options) *Vswitch {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ownLinks := opts.Links == nil
	if ownLinks {
		opts.Links = newNetlinkSource()
	}
	return &Vswitch{
		opts:      opts,
		log:       log,
		kick:      make(chan struct{}, 1),
		rec:       newReconciler(opts.Datapath, opts.Opener, log, opts.Count),
		linkCache: make(map[string]LinkInfo),
		linkQueue: make(map[string]linkEvent),
		runDone:   make(chan struct{}),
		ready:     make(chan struct{}),
		cache:     newSpecCache(),
		ownLinks:  ownLinks,
	}
}

// requestPass asks the main loop for a reconfigure pass even if no event
// calls for one (retries).
func (v *Vswitch) requestPass() {
	v.passWanted.Store(true)
	v.Kick()
}

// Kick wakes the main loop to look at queued link events (non-blocking).
func (v *Vswitch) Kick() {
	select {
	case v.kick <- struct{}{}:
	default:
	}
}

// statsInterval is other_config:stats-update-interval (ms, minimum and
// default 5000).
func (v *Vswitch) statsInterval() time.Duration {
	v.mu.Lock()
	defer v.mu.Unlock()
	d := 5 * time.Second
	if v.spec != nil {
		if s := v.spec.OtherConfig["stats-update-interval"]; s != "" {
			var ms int64
			if json.Unmarshal([]byte(s), &ms) == nil && ms > 5000 {
				d = time.Duration(ms) * time.Millisecond
			}
		}
	}
	return d
}

// Run is the main loop: it reconciles on every database change and link
// event, refreshes statistics and ages MAC entries, until ctx ends. Then it
// detaches every port.
func (v *Vswitch) Run(ctx context.Context) error {
	defer close(v.runDone)
	stopLinks := v.opts.Links.Subscribe(v.onLink)
	defer stopLinks()
	if c, ok := v.opts.Links.(interface{ Close() }); ok && v.ownLinks {
		defer c.Close()
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	v.reconfigure()
	for {
		select {
		case <-ctx.Done():
			v.mu.Lock()
			v.rec.closeAll()
			v.mu.Unlock()
			return nil
		case <-v.opts.DB.Changed():
			v.reconfigure()
		case <-v.kick:
			v.mu.Lock()
			need := v.applyLinkEventsLocked()
			v.mu.Unlock()
			if need {
				v.reconfigure()
			}
		case now := <-tick.C:
			if e, ok := v.opts.Xlate.(interface{ Expire() bool }); ok && e.Expire() && v.opts.OnConfigChange != nil {
				v.opts.OnConfigChange()
			}
			if now.Sub(v.lastStatsTime()) >= v.statsInterval() {
				v.writeStats(now)
			}
			v.checkReplica()
		}
	}
}

func (v *Vswitch) lastStatsTime() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.lastStats
}

// linkEvent is one queued kernel link change.
type linkEvent struct {
	info    LinkInfo
	deleted bool
}

// onLink is the link monitor's callback. It only queues the event (latest
// per device wins) and wakes the main loop: it must never wait for a
// reconcile pass, or the netlink socket would overflow during bursts such
// as a bulk add of internal ports. An empty name asks for a full resync.
func (v *Vswitch) onLink(name string, info LinkInfo, deleted bool) {
	v.count("link_event")
	v.linkMu.Lock()
	if name == "" {
		v.linkResync = true
	} else {
		v.linkQueue[name] = linkEvent{info: info, deleted: deleted}
	}
	v.linkMu.Unlock()
	v.Kick()
}

// applyLinkEventsLocked moves queued link events into the live state and
// reports whether a reconcile pass is needed.
func (v *Vswitch) applyLinkEventsLocked() bool {
	v.linkMu.Lock()
	queue, resync := v.linkQueue, v.linkResync
	v.linkQueue, v.linkResync = make(map[string]linkEvent), false
	v.linkMu.Unlock()
	need := v.passWanted.Swap(false)
	if resync {
		// Events were lost: forget every cached link so that the next
		// pass re-reads them (and finds vanished devices).
		clear(v.linkCache)
		need = true
	}
	for name, ev := range queue {
		if l := v.rec.ifaces[name]; l != nil && v.staleLinkEvent(l, ev) {
			continue
		}
		if v.rec.linkEvent(name, ev.info.IfIndex, ev.deleted) {
			need = true
		}
		if v.rec.ifaces[name] == nil {
			continue
		}
		old, had := v.linkCache[name]
		if ev.deleted {
			delete(v.linkCache, name)
			need = need || had
		} else if !had || old != ev.info {
			v.linkCache[name] = ev.info
			need = true
		}
	}
	return need
}

// staleLinkEvent reports whether ev is about an earlier device of l's name
// rather than the one attached now: after del-br and add-br (or del-port and
// add-port of an internal port) the old device's last events can arrive
// after its replacement was created. Only an ifindex mismatch needs the
// check, one netlink request: the device now under that name decides.
func (v *Vswitch) staleLinkEvent(l *liveIface, ev linkEvent) bool {
	if l.typ == "patch" || !l.attached() || l.ifindex == 0 || ev.info.IfIndex == 0 || ev.info.IfIndex == l.ifindex {
		return false
	}
	info, err := v.opts.Links.Get(l.name)
	return err == nil && info.IfIndex == l.ifindex
}

// reconfigure is one bridge_reconfigure pass: reconcile, publish, write
// ofport/error/cur_cfg in one transaction, then read the kernel state of new
// devices and write status in a second one.
func (v *Vswitch) reconfigure() {
	if !v.opts.DB.HasLock() {
		// Another vswitchd owns the database; stay passive until the
		// server hands us the lock ("locked" notification).
		v.log.Debug("not reconfiguring: ovs_vswitchd lock not held")
		return
	}
	t0 := time.Now()
	v.count("bridge_reconfigure")
	spec := buildSpec(v.opts.DB.Snapshot(), v.cache)
	if spec.RootUUID == "" {
		v.ensureRoot()
		// The insert's update wakes us up again.
		return
	}
	v.mu.Lock()
	results := v.rec.Reconcile(spec)
	for _, name := range v.rec.detached {
		delete(v.linkCache, name)
	}
	v.rec.detached = v.rec.detached[:0]
	v.spec = spec
	v.applyMTURequestsLocked(spec)
	v.applyPolicingLocked(spec)
	v.applyTuningLocked(spec)
	cfg := v.xlateConfigLocked(spec)
	v.mu.Unlock()

	t1 := time.Now()
	if v.opts.Xlate != nil {
		v.opts.Xlate.Publish(cfg)
	}
	if v.opts.OnConfigChange != nil {
		v.opts.OnConfigChange()
	}

	var ops []any
	for _, r := range results {
		if r.ofport != r.spec.OFPort || r.err != r.spec.Error {
			ops = append(ops, map[string]any{
				"op": "update", "table": "Interface",
				"where": []any{[]any{"_uuid", "==", uuidAtom(r.spec.UUID)}},
				"row":   map[string]any{"ofport": r.ofport, "error": optString(r.err)},
			})
			if r.err != "" && r.err != r.spec.Error {
				v.count("iface_error")
				v.log.Warn("interface error", "interface", r.spec.Name, "error", r.err)
			}
		}
	}
	ops = append(ops, v.rootOps(spec)...)
	ops = append(ops, v.externalIDOps(spec)...)
	if spec.NextCfg != spec.CurCfg {
		ops = append(ops, map[string]any{
			"op": "update", "table": "Open_vSwitch",
			"where": []any{[]any{"_uuid", "==", uuidAtom(spec.RootUUID)}},
			"row":   map[string]any{"cur_cfg": spec.NextCfg},
		})
	}
	t2 := time.Now()
	if len(ops) > 0 {
		_, err := v.opts.DB.Transact(ops...)
		v.startPortsAfterTxn()
		if err != nil {
			v.count("txn_error")
			v.log.Warn("database transaction failed", "error", err)
			// Echoes of our own writes do not wake us up: retry.
			time.AfterFunc(time.Second, v.requestPass)
			return
		}
	}
	v.startPortsAfterTxn() // no transaction was needed
	t3 := time.Now()
	v.readyOnce.Do(func() { close(v.ready) })
	// Status follows in its own transaction: cur_cfg does not wait for
	// the kernel's view of new devices (one netlink request each, or one
	// dump after a bulk add).
	v.mu.Lock()
	v.refreshLinksLocked()
	v.mu.Unlock()
	v.writeStatus(spec)
	v.log.Debug("reconfigured", "cfg", spec.NextCfg, "ops", len(ops), "reconcile", t1.Sub(t0),
		"publish", t2.Sub(t1), "txn", t3.Sub(t2), "status", time.Since(t3))
}

// startPortsAfterTxn starts the poll goroutines of the ports this pass
// attached (reconciler.startPorts): after the cur_cfg transaction, so that
// a bulk add's clients do not wait for a thread per port.
func (v *Vswitch) startPortsAfterTxn() {
	v.mu.Lock()
	v.rec.startPorts()
	v.mu.Unlock()
}

// checkReplica is a once-a-second guard against a server that loses monitor
// updates: it reads next_cfg directly and compares it with the replica. A
// replica behind on two consecutive checks for the same value (so not just
// an update in flight) is resynchronised, and a warning says so.
func (v *Vswitch) checkReplica() {
	if !v.opts.DB.HasLock() {
		return
	}
	// Only next_cfg is needed: decoding the whole replica here would cost
	// a full uncached pass every second with a thousand ports.
	var replica int64
	if roots := v.opts.DB.Snapshot()["Open_vSwitch"]; len(roots) > 0 {
		replica, _ = roots[sortedKeys(roots)[0]].colInt("next_cfg")
	}
	res, err := v.opts.DB.Transact(map[string]any{"op": "select", "table": "Open_vSwitch", "where": []any{}, "columns": []string{"next_cfg"}})
	if err != nil || len(res) == 0 {
		return
	}
	var sel struct {
		Rows []struct {
			NextCfg int64 `json:"next_cfg"`
		} `json:"rows"`
	}
	if json.Unmarshal(res[0], &sel) != nil || len(sel.Rows) != 1 {
		return
	}
	server := sel.Rows[0].NextCfg
	if server <= replica {
		v.staleCfg = 0
		return
	}
	if v.staleCfg != server {
		v.staleCfg = server // maybe an update in flight: look again
		return
	}
	v.count("replica_resync")
	v.log.Warn("database replica is stale (monitor update lost); resynchronizing",
		"replica_next_cfg", replica, "server_next_cfg", server)
	v.staleCfg = 0
	v.opts.DB.Resync()
}

// ensureRoot inserts the Open_vSwitch row into an empty database (what
// "ovs-vsctl init" does), guarded by a wait so that two writers never
// create two rows.
func (v *Vswitch) ensureRoot() {
	_, err := v.opts.DB.Transact(
		map[string]any{"op": "wait", "table": "Open_vSwitch", "where": []any{}, "columns": []any{},
			"until": "==", "rows": []any{}, "timeout": 0},
		map[string]any{"op": "insert", "table": "Open_vSwitch", "row": map[string]any{}},
	)
	if err != nil {
		v.log.Info("could not create Open_vSwitch row", "error", err)
	}
}

// rootOps writes the startup columns of the Open_vSwitch row once per root
// row (and again if someone changes them).
func (v *Vswitch) rootOps(s *Spec) []any {
	row := map[string]any{}
	if s.Root.colString("db_version") != DBVersion {
		row["db_version"] = DBVersion
	}
	if v.opts.Version != "" && s.Root.colString("ovs_version") != v.opts.Version {
		row["ovs_version"] = v.opts.Version
	}
	want := map[string][]string{
		"datapath_types": {"netdev", "system"},
		"iface_types":    SupportedTypes(),
	}
	for col, vals := range want {
		var have []string
		for _, e := range setElems(s.Root[col]) {
			if x, ok := atomString(e); ok {
				have = append(have, x)
			}
		}
		if strings.Join(have, "\x00") != strings.Join(vals, "\x00") {
			row[col] = strSet(vals)
		}
	}
	if s.Root.colString("system_type") == "" {
		if id, ver := osRelease(); id != "" {
			row["system_type"] = id
			row["system_version"] = ver
		}
	}
	if len(row) == 0 {
		return nil
	}
	return []any{map[string]any{
		"op": "update", "table": "Open_vSwitch",
		"where": []any{[]any{"_uuid", "==", uuidAtom(s.RootUUID)}},
		"row":   row,
	}}
}

// externalIDOps adds Open_vSwitch external_ids system-id, hostname and
// rundir once per root row, as ovs-ctl does at startup. The "insert"
// mutation never replaces a key that is already set (by ovs-ctl, an
// administrator or an earlier run), so the first system-id sticks.
func (v *Vswitch) externalIDOps(s *Spec) []any {
	if v.extIDsDone == s.RootUUID {
		return nil
	}
	v.extIDsDone = s.RootUUID
	ids := map[string]string{}
	if v.opts.SystemID != "" {
		ids["system-id"] = v.opts.SystemID
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		ids["hostname"] = h
	}
	if v.opts.RunDir != "" {
		ids["rundir"] = v.opts.RunDir
	}
	if len(ids) == 0 {
		return nil
	}
	return []any{map[string]any{
		"op": "mutate", "table": "Open_vSwitch",
		"where":     []any{[]any{"_uuid", "==", uuidAtom(s.RootUUID)}},
		"mutations": []any{[]any{"external_ids", "insert", strMap(ids)}},
	}}
}

// osRelease reads ID and VERSION_ID from /etc/os-release (as ovs-ctl does for
// system-type and system-version).
func osRelease() (id, version string) {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "", ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, val, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		val = strings.Trim(val, `"`)
		switch k {
		case "ID":
			id = val
		case "VERSION_ID":
			version = val
		}
	}
	return id, version
}

// Ready is closed once the first reconfiguration has been written back (the
// Open_vSwitch row exists and every interface has its ofport).
func (v *Vswitch) Ready() <-chan struct{} { return v.ready }

// Wait blocks until Run has returned.
func (v *Vswitch) Wait() { <-v.runDone }
