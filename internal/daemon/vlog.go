package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Level is a vlog level. Higher is more verbose; Off disables a destination.
type Level int

// vlog levels in OVS order.
const (
	LevelOff Level = iota
	LevelEmer
	LevelErr
	LevelWarn
	LevelInfo
	LevelDbg
)

var levelNames = [...]string{"OFF", "EMER", "ERR", "WARN", "INFO", "DBG"}

func (l Level) String() string {
	if l >= 0 && int(l) < len(levelNames) {
		return levelNames[l]
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// ParseLevel accepts OVS level names in any case ("dbg", "INFO", ...).
func ParseLevel(s string) (Level, bool) {
	for i, n := range levelNames {
		if strings.EqualFold(s, n) {
			return Level(i), true
		}
	}
	return 0, false
}

func fromSlog(l slog.Level) Level {
	switch {
	case l >= slog.LevelError+4:
		return LevelEmer
	case l >= slog.LevelError:
		return LevelErr
	case l >= slog.LevelWarn:
		return LevelWarn
	case l >= slog.LevelInfo:
		return LevelInfo
	}
	return LevelDbg
}

// Destinations, in vlog/list column order.
const (
	DestConsole = iota
	DestSyslog
	DestFile
	numDests
)

var destNames = [numDests]string{"console", "syslog", "file"}

// ModuleKey is the slog attribute naming the vlog module of a logger:
// logger.With(daemon.ModuleKey, "bridge").
const ModuleKey = "module"

// Log is a vlog-style log: named modules, each with a level per destination
// (console = stderr, syslog = accepted but not written, file = --log-file).
// It implements unixctl.VLog; Logger(module) returns slog loggers.
type Log struct {
	mu       sync.Mutex
	levels   map[string]*[numDests]Level
	patterns [numDests]string
	console  io.Writer
	filePath string
	file     *os.File
	seq      atomic.Uint64
}

// NewLog creates a log writing to console (usually os.Stderr). Every module
// starts at console INFO, syslog INFO, file INFO as in OVS, except that
// console defaults to WARN once the daemon detaches (see Detach).
func NewLog(console io.Writer) *Log {
	return &Log{
		levels:  make(map[string]*[numDests]Level),
		console: console,
		patterns: [numDests]string{
			"%D{%Y-%m-%dT%H:%M:%SZ}|%05N|%c%T|%p|%m",
			"ovs|%05N|%c%T|%p|%m",
			"%D{%Y-%m-%dT%H:%M:%S.###Z}|%05N|%c%T|%p|%m",
		},
	}
}

// Modules is the list of vlog modules gvswitch programs register up front so
// that vlog/list shows them before they first log.
var Modules = []string{"bridge", "daemon", "datapath", "dpif_netdev", "netdev", "ofproto", "ovsdb", "reconnect", "unixctl", "vlog", "xlate"}

// AddModule makes module known (INFO everywhere unless set otherwise).
func (l *Log) AddModule(module string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.moduleLocked(module)
}

func (l *Log) moduleLocked(m string) *[numDests]Level {
	lv, ok := l.levels[m]
	if !ok {
		lv = &[numDests]Level{LevelInfo, LevelInfo, LevelInfo}
		l.levels[m] = lv
	}
	return lv
}

// SetLogFile opens path for appending and makes it the file destination.
func (l *Log) SetLogFile(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log file %s: %w", path, err)
	}
	l.mu.Lock()
	old := l.file
	l.file, l.filePath = f, path
	l.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	return nil
}

// SetConsole replaces the console writer (nil discards).
func (l *Log) SetConsole(w io.Writer) {
	l.mu.Lock()
	l.console = w
	l.mu.Unlock()
}

// Reopen implements unixctl.VLog: reopens the log file (after rotation).
func (l *Log) Reopen() error {
	l.mu.Lock()
	path := l.filePath
	l.mu.Unlock()
	if path == "" {
		return nil
	}
	return l.SetLogFile(path)
}

// CloseFile implements unixctl.VLog.
func (l *Log) CloseFile() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file == nil {
		return nil
	}
	err := l.file.Close()
	l.file = nil
	return err
}

// List implements unixctl.VLog with OVS's vlog/list layout.
func (l *Log) List() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	names := make([]string, 0, len(l.levels))
	for n := range l.levels {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("                 console    syslog    file\n")
	b.WriteString("                 -------    ------    ------\n")
	for _, n := range names {
		lv := l.levels[n]
		fmt.Fprintf(&b, "%-16s  %4s       %4s       %4s\n", n, lv[DestConsole], lv[DestSyslog], lv[DestFile])
	}
	return b.String()
}

// ListPattern implements unixctl.VLog with OVS's vlog/list-pattern layout.
func (l *Log) ListPattern() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%-9s%-34s%s\n", "", "prefix", "format")
	fmt.Fprintf(&b, "%-9s%-34s%s\n", "", "------", "------")
	fmt.Fprintf(&b, "%-9s%-34s%s\n", "SYSLOG", "<%B> %D{%h %e %T} %E %A:", l.patterns[DestSyslog])
	fmt.Fprintf(&b, "%-9s%-34s%s\n", "CONSOLE", "none", l.patterns[DestConsole])
	fmt.Fprintf(&b, "%-9s%-34s%s\n", "FILE", "none", l.patterns[DestFile])
	return b.String()
}

// Set implements unixctl.VLog: "[module][:destination][:level]" words in any
// order ("ANY" for all; an empty spec sets everything to DBG, as OVS does),
// or "PATTERN:destination:pattern". Errors use OVS's wording.
func (l *Log) Set(spec string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	words := strings.Split(spec, ":")
	if strings.EqualFold(words[0], "pattern") {
		if len(words) < 2 {
			return fmt.Errorf("missing destination")
		}
		d := destIndex(words[1])
		if d < 0 {
			return fmt.Errorf("unknown destination %q", words[1])
		}
		l.patterns[d] = strings.Join(words[2:], ":")
		return nil
	}
	module, dest, level := "", -1, LevelDbg
	for _, w := range words {
		if w == "" || strings.EqualFold(w, "any") {
			continue
		}
		if d := destIndex(w); d >= 0 {
			dest = d
			continue
		}
		if lv, ok := ParseLevel(w); ok {
			level = lv
			continue
		}
		if _, ok := l.levels[w]; !ok {
			return fmt.Errorf("no destination, level, or module %q", w)
		}
		module = w
	}
	for name, lv := range l.levels {
		if module != "" && name != module {
			continue
		}
		for d := 0; d < numDests; d++ {
			if dest < 0 || d == dest {
				lv[d] = level
			}
		}
	}
	return nil
}

func destIndex(s string) int {
	for i, n := range destNames {
		if strings.EqualFold(s, n) {
			return i
		}
	}
	return -1
}

// Logger returns a slog logger for module (registering it).
func (l *Log) Logger(module string) *slog.Logger {
	l.AddModule(module)
	return slog.New(&handler{log: l, module: module})
}

type handler struct {
	log    *Log
	module string
	attrs  string
}

func (h *handler) Enabled(_ context.Context, level slog.Level) bool {
	lv := fromSlog(level)
	h.log.mu.Lock()
	defer h.log.mu.Unlock()
	m := h.log.moduleLocked(h.module)
	return (m[DestConsole] >= lv && h.log.console != nil) || (m[DestFile] >= lv && h.log.file != nil)
}

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	lv := fromSlog(r.Level)
	var b strings.Builder
	b.WriteString(r.Message)
	b.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	msg := b.String()
	seq := h.log.seq.Add(1)
	t := r.Time.UTC()
	if t.IsZero() {
		t = time.Now().UTC()
	}
	h.log.mu.Lock()
	defer h.log.mu.Unlock()
	m := h.log.moduleLocked(h.module)
	if h.log.console != nil && m[DestConsole] >= lv {
		fmt.Fprintf(h.log.console, "%s|%05d|%s|%s|%s\n", t.Format("2006-01-02T15:04:05Z"), seq, h.module, lv, msg)
	}
	if h.log.file != nil && m[DestFile] >= lv {
		fmt.Fprintf(h.log.file, "%s|%05d|%s|%s|%s\n", t.Format("2006-01-02T15:04:05.000Z"), seq, h.module, lv, msg)
	}
	return nil
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *h
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range attrs {
		if a.Key == ModuleKey {
			n.module = a.Value.String()
			h.log.AddModule(n.module)
			continue
		}
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	n.attrs = b.String()
	return &n
}

func (h *handler) WithGroup(string) slog.Handler { return h }
