package ovstest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/testutil"
)

// StartTimeout bounds how long StartOVSDBServer waits for the socket.
const StartTimeout = 15 * time.Second

// Options configures StartOVSDBServer. The zero value (or nil) starts an
// initialised Open_vSwitch database from Debian's schema.
type Options struct {
	// Schema is the schema file for ovsdb-tool create; default DebianSchema.
	Schema string
	// SchemaJSON, when set, is written to the server directory and used
	// instead of Schema (e.g. vswitch.SchemaJSON, the project's copy).
	SchemaJSON []byte
	// DB is an existing database file to copy and serve instead of creating
	// a new one.
	DB string
	// NoInit skips `ovs-vsctl --no-wait init` (the Open_vSwitch row).
	NoInit bool
	// Remotes are extra --remote arguments, e.g. "ptcp:0:127.0.0.1".
	Remotes []string
	// Args are extra ovsdb-server arguments, e.g. "-vjsonrpc:file:dbg".
	Args []string
}

// Server is a private ovsdb-server child process.
type Server struct {
	Bin Binaries
	// Dir is the temporary directory holding every file below; it is
	// OVS_RUNDIR, OVS_DBDIR, OVS_LOGDIR and OVS_SYSCONFDIR for the server
	// and for clients started through the Server's methods.
	Dir string
	// Sock is the remote for clients: "unix:" + SockPath.
	Sock     string
	SockPath string
	DBPath   string // conf.db
	CtlPath  string // unixctl socket, for ovs-appctl -t
	PIDPath  string
	LogPath  string

	cmd    *exec.Cmd
	exited chan struct{}
	stderr lockedBuffer
}

// StartOVSDBServer creates a database in a new temporary directory, starts
// ovsdb-server on it in the foreground, waits until its socket accepts
// connections and, unless opts.NoInit, runs `ovs-vsctl --no-wait init`. The
// server is stopped and the directory removed in t.Cleanup; the server log
// is copied to the test log when the test failed.
func StartOVSDBServer(t testing.TB, opts *Options) *Server {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	bin := FindBinaries(t)
	// Not t.TempDir: unix socket paths are limited to 107 bytes and test
	// names can be long.
	dir, err := os.MkdirTemp("", "gvs-ovs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	s := &Server{
		Bin:      bin,
		Dir:      dir,
		SockPath: filepath.Join(dir, "db.sock"),
		DBPath:   filepath.Join(dir, "conf.db"),
		CtlPath:  filepath.Join(dir, "ovsdb-server.ctl"),
		PIDPath:  filepath.Join(dir, "ovsdb-server.pid"),
		LogPath:  filepath.Join(dir, "ovsdb-server.log"),
		exited:   make(chan struct{}),
	}
	s.Sock = "unix:" + s.SockPath

	switch {
	case o.DB != "":
		data, err := os.ReadFile(o.DB)
		if err != nil {
			t.Fatalf("copy database: %v", err)
		}
		if err := os.WriteFile(s.DBPath, data, 0o600); err != nil {
			t.Fatalf("copy database: %v", err)
		}
	default:
		schema := o.Schema
		if o.SchemaJSON != nil {
			schema = filepath.Join(dir, "vswitch.ovsschema")
			if err := os.WriteFile(schema, o.SchemaJSON, 0o600); err != nil {
				t.Fatal(err)
			}
		} else if schema == "" {
			schema = RequireSchema(t)
		}
		s.Tool(t, "create", s.DBPath, schema).Check(t)
	}

	args := []string{
		s.DBPath,
		"--remote=punix:" + s.SockPath,
		"--pidfile=" + s.PIDPath,
		"--unixctl=" + s.CtlPath,
		"--log-file=" + s.LogPath,
		"-vconsole:off",
	}
	for _, r := range o.Remotes {
		args = append(args, "--remote="+r)
	}
	args = append(args, o.Args...)
	s.cmd = exec.Command(bin.OvsdbServer, args...)
	s.cmd.Env = append(os.Environ(), s.Env()...)
	s.cmd.Dir = dir
	s.cmd.Stderr = &s.stderr
	dieWithParent(s.cmd)
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start ovsdb-server: %v", err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("%v", err)
		}
		if t.Failed() {
			t.Logf("ovsdb-server log (%s):\n%s%s", s.LogPath, s.Log(), s.stderr.String())
		}
	})

	var dialErr error
	ready := testutil.Poll(StartTimeout, 10*time.Millisecond, func() bool {
		select {
		case <-s.exited:
			return true
		default:
		}
		c, err := net.Dial("unix", s.SockPath)
		if err != nil {
			dialErr = err
			return false
		}
		c.Close()
		return true
	})
	select {
	case <-s.exited:
		t.Fatalf("ovsdb-server exited at start (%v):\n%s%s", s.cmd.ProcessState, s.stderr.String(), s.Log())
	default:
	}
	if !ready {
		t.Fatalf("ovsdb-server socket %s not ready within %v: %v\n%s", s.SockPath, StartTimeout, dialErr, s.Log())
	}
	if !o.NoInit {
		s.Vsctl(t, "--no-wait", "init").Check(t)
	}
	return s
}

// Env returns the OVS_* variables that point the Open vSwitch tools at the
// server's directory.
func (s *Server) Env() []string {
	return []string{
		"OVS_RUNDIR=" + s.Dir,
		"OVS_DBDIR=" + s.Dir,
		"OVS_LOGDIR=" + s.Dir,
		"OVS_SYSCONFDIR=" + s.Dir,
	}
}

// Pid returns the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Log returns the server's log file so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.LogPath)
	return string(b)
}

// Stop terminates the server (SIGTERM, then SIGKILL after 5 s) and waits
// for it. It is safe to call more than once; t.Cleanup calls it.
func (s *Server) Stop() error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return nil
	case <-time.After(5 * time.Second):
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	return errors.New("ovsdb-server ignored SIGTERM for 5s; killed")
}

// Exited reports whether the server process has ended.
func (s *Server) Exited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

func (s *Server) run(t testing.TB, bin string, args []string) Result {
	t.Helper()
	return RunCmd(t, Cmd{Bin: bin, Args: args, Env: s.Env()})
}

// Vsctl runs ovs-vsctl --db=s.Sock with args.
func (s *Server) Vsctl(t testing.TB, args ...string) Result {
	t.Helper()
	return s.run(t, s.Bin.Vsctl, append([]string{"--db=" + s.Sock}, args...))
}

// Client runs ovsdb-client with args; put s.Sock where the command takes
// the server ("list-dbs", s.Sock).
func (s *Server) Client(t testing.TB, args ...string) Result {
	t.Helper()
	return s.run(t, s.Bin.OvsdbClient, args)
}

// Tool runs ovsdb-tool with args.
func (s *Server) Tool(t testing.TB, args ...string) Result {
	t.Helper()
	return s.run(t, s.Bin.OvsdbTool, args)
}

// Appctl runs ovs-appctl -t s.CtlPath with args, e.g. "ovsdb-server/compact".
func (s *Server) Appctl(t testing.TB, args ...string) Result {
	t.Helper()
	return s.run(t, s.Bin.Appctl, append([]string{"-t", s.CtlPath}, args...))
}

// Get returns `ovs-vsctl --no-wait get` of one column, trimmed, failing the
// test on error: s.Get(t, "Open_vSwitch", ".", "cur_cfg").
func (s *Server) Get(t testing.TB, table, record, column string) string {
	t.Helper()
	return strings.TrimSpace(s.Vsctl(t, "--no-wait", "get", table, record, column).Check(t))
}

// String identifies the server in messages.
func (s *Server) String() string {
	return fmt.Sprintf("ovsdb-server pid %d on %s", s.Pid(), s.Sock)
}

// lockedBuffer collects a child's stderr while tests may read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}
