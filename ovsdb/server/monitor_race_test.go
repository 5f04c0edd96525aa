package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/jsonrpc"
	"github.com/gvswitch/gvswitch/ovsdb/server"
)

// cfgWatcher is one monitor session that tracks Open_vSwitch.next_cfg: the
// value in the monitor reply, then one value per update notification.
type cfgWatcher struct {
	version int
	c       *jsonrpc.Conn

	mu      sync.Mutex
	initial int64   // from the reply; -1 until it arrived
	seen    []int64 // from updates after the reply
	err     error
	changed chan struct{}
}

// watchCfg opens a session and a monitor of version 1, 2 or 3 on next_cfg.
func watchCfg(t *testing.T, sock string, version int) *cfgWatcher {
	c, err := jsonrpc.Dial(sock, 5*time.Second)
	if err != nil {
		t.Errorf("dial: %v", err)
		return nil
	}
	w := &cfgWatcher{version: version, c: c, initial: -1, changed: make(chan struct{}, 1)}
	go w.read()
	req := map[string]any{"Open_vSwitch": map[string]any{"columns": []string{"next_cfg"}}}
	var m *jsonrpc.Message
	switch version {
	case 1:
		m = jsonrpc.NewRequest("monitor", []any{"Open_vSwitch", "mon", req}, 1)
	case 2:
		m = jsonrpc.NewRequest("monitor_cond", []any{"Open_vSwitch", "mon", req}, 1)
	default:
		m = jsonrpc.NewRequest("monitor_cond_since", []any{"Open_vSwitch", "mon", req,
			"00000000-0000-0000-0000-000000000000"}, 1)
	}
	if err := c.Write(m); err != nil {
		t.Errorf("monitor request: %v", err)
	}
	return w
}

// rowCfg extracts next_cfg from a one-row <table-updates> object (any
// version): {"Open_vSwitch":{"uuid":{"new"|"initial"|"insert"|"modify":{...}}}}.
func rowCfg(raw json.RawMessage) (int64, bool, error) {
	var tu map[string]map[string]map[string]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &tu); err != nil {
		return 0, false, fmt.Errorf("table updates %s: %w", raw, err)
	}
	for _, rows := range tu["Open_vSwitch"] {
		for _, k := range []string{"new", "initial", "insert", "modify"} {
			if row, ok := rows[k]; ok {
				v, ok := row["next_cfg"]
				if !ok {
					return 0, true, nil // default (0), omitted by update2
				}
				n, err := strconv.ParseInt(string(v), 10, 64)
				return n, true, err
			}
		}
	}
	return 0, false, nil
}

func (w *cfgWatcher) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

func (w *cfgWatcher) read() {
	for {
		m, err := w.c.Read()
		if err != nil {
			return
		}
		var params []json.RawMessage
		switch {
		case m.Kind == jsonrpc.KindReply:
			body := m.Result
			if w.version == 3 {
				if err := json.Unmarshal(m.Result, &params); err != nil || len(params) != 3 {
					w.fail(fmt.Errorf("monitor_cond_since reply %s", m.Result))
					return
				}
				body = params[2]
			}
			n, ok, err := rowCfg(body)
			if err != nil || !ok {
				w.fail(fmt.Errorf("monitor reply without next_cfg: %s (%v)", m.Result, err))
				return
			}
			w.mu.Lock()
			w.initial = n
			w.mu.Unlock()
		case m.Kind == jsonrpc.KindError:
			w.fail(fmt.Errorf("monitor error %s", m.Error))
			return
		case m.Kind == jsonrpc.KindNotify && (m.Method == "update" || m.Method == "update2" || m.Method == "update3"):
			if err := json.Unmarshal(m.Params, &params); err != nil || len(params) < 2 {
				w.fail(fmt.Errorf("bad %s params %s", m.Method, m.Params))
				return
			}
			n, ok, err := rowCfg(params[len(params)-1])
			w.mu.Lock()
			switch {
			case w.initial < 0:
				w.fail0(fmt.Errorf("%s before the monitor reply: %s", m.Method, m.Params))
			case err != nil || !ok:
				w.fail0(fmt.Errorf("%s without next_cfg: %s (%v)", m.Method, m.Params, err))
			default:
				w.seen = append(w.seen, n)
			}
			w.mu.Unlock()
		default:
			continue
		}
		select {
		case w.changed <- struct{}{}:
		default:
		}
	}
}

func (w *cfgWatcher) fail0(err error) {
	if w.err == nil {
		w.err = err
	}
}

// check waits until the watcher has seen final and verifies that it saw
// every value after its initial one exactly once and in order.
func (w *cfgWatcher) check(final int64, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		err, initial, seen := w.err, w.initial, append([]int64(nil), w.seen...)
		w.mu.Unlock()
		if err != nil {
			return err
		}
		last := initial
		if len(seen) > 0 {
			last = seen[len(seen)-1]
		}
		if initial >= 0 && last >= final {
			for i, n := range seen {
				if n != initial+int64(i)+1 {
					return fmt.Errorf("monitor v%d: initial %d, then %v: commit missing or repeated", w.version, initial, seen)
				}
			}
			return nil
		}
		select {
		case <-w.changed:
		case <-deadline.C:
			return fmt.Errorf("monitor v%d: initial %d, updates %v: never saw next_cfg %d", w.version, initial, seen, final)
		}
	}
}

// raceMonitorsAndCommits opens monitors (versions 1-3, several goroutines)
// while another session commits next_cfg increments; every monitor must see
// each commit either in its initial contents or in exactly one update.
func raceMonitorsAndCommits(t *testing.T, sock string, commits, openers int) {
	t.Helper()
	wc, err := jsonrpc.Dial(sock, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	// The writer's replies are read inline: nothing else is sent to it.
	mutate := func(id int) (int64, error) {
		op := map[string]any{"op": "mutate", "table": "Open_vSwitch", "where": []any{},
			"mutations": []any{[]any{"next_cfg", "+=", 1}}}
		sel := map[string]any{"op": "select", "table": "Open_vSwitch", "where": []any{}, "columns": []string{"next_cfg"}}
		if err := wc.Write(jsonrpc.NewRequest("transact", []any{"Open_vSwitch", op, sel}, id)); err != nil {
			return 0, err
		}
		m, err := wc.Read()
		if err != nil {
			return 0, err
		}
		var res []struct {
			Count *int `json:"count"`
			Rows  []struct {
				NextCfg int64 `json:"next_cfg"`
			} `json:"rows"`
		}
		if err := json.Unmarshal(m.Result, &res); err != nil || len(res) != 2 || len(res[1].Rows) != 1 {
			return 0, fmt.Errorf("transact reply %s %s", m.Result, m.Error)
		}
		return res[1].Rows[0].NextCfg, nil
	}
	start, err := mutate(0)
	if err != nil {
		t.Fatal(err)
	}

	done := make(chan struct{})
	var (
		mu       sync.Mutex
		watchers []*cfgWatcher
		wg       sync.WaitGroup
	)
	for g := 0; g < openers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				w := watchCfg(t, sock, 1+(g+i)%3)
				if w == nil {
					return
				}
				mu.Lock()
				watchers = append(watchers, w)
				mu.Unlock()
				// Wait for the reply so that each session's registration
				// races with a commit, not with its own dial.
				select {
				case <-w.changed:
				case <-time.After(10 * time.Second):
				case <-done:
					return
				}
			}
		}()
	}
	final := start
	for i := 1; i <= commits; i++ {
		n, err := mutate(i)
		if err != nil {
			close(done)
			wg.Wait()
			t.Fatal(err)
		}
		final = n
	}
	close(done)
	wg.Wait()
	if final != start+int64(commits) {
		t.Fatalf("next_cfg %d after %d commits from %d", final, commits, start)
	}
	// One more commit after every monitor was registered: all must see it.
	if final, err = mutate(commits + 1); err != nil {
		t.Fatal(err)
	}
	for _, w := range watchers {
		if err := w.check(final, 10*time.Second); err != nil {
			t.Error(err)
		}
		w.c.Close()
	}
	t.Logf("%d monitors, %d commits", len(watchers), commits+2)
}

// TestMonitorRegistrationRacesCommits: a commit that runs while a monitor
// is being registered must be in the monitor's initial contents or in a
// later update, never in neither (nor in both).
func TestMonitorRegistrationRacesCommits(t *testing.T) {
	sock := "unix:" + startTestServer(t, "")
	ovsVsctl(t, sock, "--no-wait", "init")
	raceMonitorsAndCommits(t, sock, 150, 2)
}

// TestMonitorRegistrationRacesCommitsAfterRestart is the same race on a
// server that has just been restarted on an existing database file (so
// that the initial contents come from the replayed file and there is no
// commit history for monitor_cond_since), several times over.
func TestMonitorRegistrationRacesCommitsAfterRestart(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "conf.db")
	for round := 0; round < 3; round++ {
		sockPath := shortSock(t)
		srv, err := server.New(server.Options{DBPath: dbPath, Remotes: []string{"punix:" + sockPath},
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan struct{})
		go func() { _ = srv.Serve(ctx); close(served) }()
		sock := "unix:" + sockPath
		if round == 0 {
			ovsVsctl(t, sock, "--no-wait", "init")
		}
		raceMonitorsAndCommits(t, sock, 50, 2)
		cancel()
		<-served
		if t.Failed() {
			return
		}
	}
}

// startTestServer starts a server on a short socket with the database at
// dbPath ("" in memory) and returns the socket path.
func startTestServer(t *testing.T, dbPath string) string {
	sock := shortSock(t)
	srv, err := server.New(server.Options{DBPath: dbPath, Remotes: []string{"punix:" + sock},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { _ = srv.Serve(ctx); close(served) }()
	t.Cleanup(func() { cancel(); <-served })
	return sock
}
