package unixctl

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gvswitch/gvswitch/jsonrpc"
)

// Handler runs one command. A non-nil error is sent to the client as the
// error text (ovs-appctl prints it and exits 2); otherwise the string is the
// reply body.
type Handler func(args []string) (string, error)

// Unbounded is the maxArgs value for commands that take any number of
// arguments.
const Unbounded = math.MaxInt32

type command struct {
	usage    string
	min, max int
	handler  Handler
}

// Server is a unixctl server listening on one Unix socket.
type Server struct {
	path    string
	ln      net.Listener
	version string

	mu    sync.Mutex
	cmds  map[string]command
	conns map[*jsonrpc.Conn]bool // true while a request is being answered
	done  bool

	wg sync.WaitGroup
}

// SocketPath returns the control socket path OVS uses for program with the
// given pid: <rundir>/<program>.<pid>.ctl.
func SocketPath(rundir, program string, pid int) string {
	return filepath.Join(rundir, fmt.Sprintf("%s.%d.ctl", program, pid))
}

// VersionString returns the program_version text OVS daemons print,
// "<program> (Open vSwitch) 3.1.0".
func VersionString(program string) string {
	return program + " (Open vSwitch) " + OVSVersion
}

// OVSVersion is the Open vSwitch release whose interfaces gvswitch mimics.
const OVSVersion = "3.1.0"

// NewServer listens on path (removing a stale socket file first) and
// registers the built-in commands. version is the reply of the "version"
// command (see VersionString).
func NewServer(path, version string) (*Server, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	s := &Server{
		path:    path,
		ln:      ln,
		version: version,
		cmds:    make(map[string]command),
		conns:   make(map[*jsonrpc.Conn]bool),
	}
	s.Register("list-commands", "", 0, 0, s.listCommands)
	s.Register("version", "", 0, 0, func([]string) (string, error) { return s.version, nil })
	return s, nil
}

// Path returns the socket path.
func (s *Server) Path() string { return s.path }

// Register adds (or replaces) a command. Argument counts outside
// [minArgs, maxArgs] are refused with OVS's messages before h runs.
func (s *Server) Register(name, usage string, minArgs, maxArgs int, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cmds[name] = command{usage: usage, min: minArgs, max: maxArgs, handler: h}
}

func (s *Server) listCommands([]string) (string, error) {
	s.mu.Lock()
	names := make([]string, 0, len(s.cmds))
	for n := range s.cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("The available commands are:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-23s %s\n", n, s.cmds[n].usage)
	}
	s.mu.Unlock()
	return b.String(), nil
}

// Serve accepts connections until Close. It returns nil after Close.
func (s *Server) Serve() error {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			s.mu.Lock()
			done := s.done
			s.mu.Unlock()
			if done {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("accept %s: %w", s.path, err)
		}
		conn := jsonrpc.NewConn(c)
		s.mu.Lock()
		if s.done {
			s.mu.Unlock()
			_ = c.Close()
			return nil
		}
		s.conns[conn] = false
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(conn)
	}
}

// Start runs Serve in a goroutine.
func (s *Server) Start() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.Serve()
	}()
}

// closeGrace bounds how long Close waits for replies in progress.
const closeGrace = 2 * time.Second

// Close stops listening, closes idle connections, lets requests in progress
// send their replies (so that "exit" is answered before the program goes
// away, as OVS does), removes the socket file and waits for the connection
// goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		return nil
	}
	s.done = true
	err := s.ln.Close()
	for c, busy := range s.conns {
		if !busy {
			_ = c.Close()
		}
	}
	s.mu.Unlock()
	_ = os.Remove(s.path)
	finished := make(chan struct{})
	go func() { s.wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(closeGrace):
		s.mu.Lock()
		for c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
		<-finished
	}
	return err
}

func (s *Server) serveConn(c *jsonrpc.Conn) {
	defer func() {
		_ = c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.wg.Done()
	}()
	for {
		m, err := c.Read()
		if err != nil {
			return
		}
		if m.Kind != jsonrpc.KindRequest {
			// OVS drops sessions that send anything but requests.
			return
		}
		s.mu.Lock()
		if s.done {
			s.mu.Unlock()
			return
		}
		s.conns[c] = true
		s.mu.Unlock()
		body, cmdErr := s.run(m)
		var reply *jsonrpc.Message
		if cmdErr != nil {
			reply = jsonrpc.NewError(m.ID, withNewline(cmdErr.Error()))
		} else {
			reply = jsonrpc.NewReply(m.ID, withNewline(body))
		}
		if err := c.Write(reply); err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = false
		done := s.done
		s.mu.Unlock()
		if done {
			return
		}
	}
}

// withNewline appends "\n" to non-empty text that lacks it, as OVS's
// unixctl_command_reply does.
func withNewline(s string) string {
	if s != "" && !strings.HasSuffix(s, "\n") {
		return s + "\n"
	}
	return s
}

func (s *Server) run(m *jsonrpc.Message) (string, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(m.Params, &raw); err != nil {
		return "", fmt.Errorf("command has non-array params")
	}
	args := make([]string, 0, len(raw))
	for _, r := range raw {
		var a string
		if err := json.Unmarshal(r, &a); err != nil {
			return "", fmt.Errorf("command has non-string argument: %s", r)
		}
		args = append(args, a)
	}
	s.mu.Lock()
	cmd, ok := s.cmds[m.Method]
	s.mu.Unlock()
	switch {
	case !ok:
		return "", fmt.Errorf("%q is not a valid command (use \"list-commands\" to see a list of valid commands)", m.Method)
	case len(args) < cmd.min:
		return "", fmt.Errorf("%q command requires at least %d arguments", m.Method, cmd.min)
	case len(args) > cmd.max:
		return "", fmt.Errorf("%q command takes at most %d arguments", m.Method, cmd.max)
	}
	return safeCall(cmd.handler, args)
}

// safeCall runs h and turns a panic into an error reply, so a bug in one
// command cannot take the daemon down through its control socket.
func safeCall(h Handler, args []string) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	return h(args)
}
