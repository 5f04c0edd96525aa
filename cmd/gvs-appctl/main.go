package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gvswitch/gvswitch/internal/daemon"
	"github.com/gvswitch/gvswitch/unixctl"
)

const program = "ovs-appctl"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are ovs-appctl's command-line options.
type options struct {
	target  string
	timeout int
	args    []string
}

type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usage(w io.Writer) {
	fmt.Fprintf(w, `%s, for querying and controlling Open vSwitch daemon
usage: %s [TARGET] COMMAND [ARG...]
Targets:
  -t, --target=TARGET  pidfile or socket to contact
Common commands:
  list-commands      List commands supported by the target
  version            Print version of the target
  vlog/list          List current logging levels
  vlog/list-pattern  List logging patterns for each destination.
  vlog/set [SPEC]
      Set log levels as detailed in SPEC, which may include:
      A valid module name (all modules, by default)
      'syslog', 'console', 'file' (all destinations, by default))
      'off', 'emer', 'err', 'warn', 'info', or 'dbg' ('dbg', bydefault)
  vlog/reopen        Make the program reopen its log file
Other options:
  --timeout=SECS     wait at most SECS seconds for a response
  -h, --help         Print this helpful information
  -V, --version      Display ovs-appctl version information
`, program, program)
}

// parse follows getopt_long("+t:T:e:hV"): options stop at the first
// non-option argument.
func parse(argv []string, stdout io.Writer) (*options, error) {
	o := &options{target: "ovs-vswitchd"}
	i := 0
	needArg := func(name string) (string, error) {
		if i+1 >= len(argv) {
			return "", &exitError{1, fmt.Sprintf("%s: option '%s' requires an argument", program, name)}
		}
		i++
		return argv[i], nil
	}
	for ; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			i++
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		var name, val string
		hasVal := false
		if strings.HasPrefix(a, "--") {
			name = a[2:]
			if k, v, ok := strings.Cut(name, "="); ok {
				name, val, hasVal = k, v, true
			}
		} else {
			name = a[1:2]
			if len(a) > 2 {
				val, hasVal = a[2:], true
			}
		}
		var err error
		switch name {
		case "t", "target", "e", "execute":
			if !hasVal {
				if val, err = needArg(a); err != nil {
					return nil, err
				}
			}
			if name == "t" || name == "target" {
				o.target = val
			}
		case "T", "timeout":
			if !hasVal {
				if val, err = needArg(a); err != nil {
					return nil, err
				}
			}
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return nil, &exitError{1, fmt.Sprintf("%s: value %s on -T or --timeout is invalid", program, val)}
			}
			o.timeout = n
		case "h", "help":
			usage(stdout)
			return nil, &exitError{0, ""}
		case "V", "version":
			fmt.Fprintf(stdout, "%s\n", unixctl.VersionString(program))
			return nil, &exitError{0, ""}
		default:
			return nil, &exitError{1, fmt.Sprintf("%s: unrecognized option '%s'", program, a)}
		}
	}
	o.args = argv[i:]
	if len(o.args) == 0 {
		return nil, &exitError{1, fmt.Sprintf("%s: at least one non-option argument is required (use --help for help)", program)}
	}
	return o, nil
}

// strerror renders an error as C's strerror would (OVS messages end with
// "(No such process)").
func strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		if s != "" {
			return strings.ToUpper(s[:1]) + s[1:]
		}
	}
	return err.Error()
}

// socketFor resolves a target as ovs-appctl does: a path starting with "/"
// is the socket; anything else names <rundir>/<target>.pid, whose pid gives
// <rundir>/<target>.<pid>.ctl.
func (w *warner) socketFor(target string) (string, error) {
	if strings.HasPrefix(target, "/") {
		return target, nil
	}
	pidfile := filepath.Join(daemon.RunDir(), target+".pid")
	pid, err := daemon.ReadPidfile(pidfile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			w.warn("daemon_unix", fmt.Sprintf("%s: open: %s", pidfile, strerror(err)))
		}
		return "", &exitError{1, fmt.Sprintf("%s: cannot read pidfile \"%s\" (%s)", program, pidfile, strerror(err))}
	}
	return unixctl.SocketPath(daemon.RunDir(), target, pid), nil
}

func run(argv []string, stdout, stderr io.Writer) int {
	o, err := parse(argv, stdout)
	if err == nil {
		err = call(o, stdout, stderr)
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, ee.msg)
		}
		return ee.code
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", program, err)
		return 1
	}
	return 0
}

func call(o *options, stdout, stderr io.Writer) error {
	if o.timeout > 0 {
		// OVS arms SIGALRM and dies by it when the time limit passes.
		signal.Reset(syscall.SIGALRM)
		t := time.AfterFunc(time.Duration(o.timeout)*time.Second, func() {
			_ = syscall.Kill(os.Getpid(), syscall.SIGALRM)
		})
		defer t.Stop()
	}
	w := &warner{out: stderr}
	path, err := w.socketFor(o.target)
	if err != nil {
		return err
	}
	c, err := unixctl.Dial(path, 0)
	if err != nil {
		w.warn("unixctl", "failed to connect to "+path)
		return &exitError{1, fmt.Sprintf("%s: cannot connect to \"%s\" (%s)", program, path, strerror(err))}
	}
	defer c.Close()
	out, err := c.Call(o.args[0], o.args[1:])
	var re *unixctl.ReplyError
	switch {
	case errors.As(err, &re):
		fmt.Fprint(stderr, re.Text)
		return &exitError{2, fmt.Sprintf("%s: %s: server returned an error", program, o.target)}
	case err != nil:
		return &exitError{2, fmt.Sprintf("%s: %s: transaction error (%s)", program, o.target, strerror(err))}
	}
	fmt.Fprint(stdout, out)
	return nil
}

// warner prints OVS vlog-style warnings to stderr, as ovs-appctl's console
// log does ("<time>|<seq>|<module>|WARN|<text>").
type warner struct {
	out io.Writer
	seq int
}

func (w *warner) warn(module, text string) {
	w.seq++
	fmt.Fprintf(w.out, "%s|%05d|%s|WARN|%s\n", time.Now().UTC().Format("2006-01-02T15:04:05Z"), w.seq, module, text)
}
