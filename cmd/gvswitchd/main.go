package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gvswitch/gvswitch/internal/daemon"
	"github.com/gvswitch/gvswitch/unixctl"
)

// Personalities: gvswitchd runs both layers; invoked as ovsdb-server or
// ovs-vswitchd (for example through a symlink, so that ovs-ctl and systemd
// units find the names they expect in /proc/PID/comm) it runs only that
// layer and takes that program's arguments.
const (
	progGvswitchd = "gvswitchd"
	progOVSDB     = "ovsdb-server"
	progVswitchd  = "ovs-vswitchd"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// config is gvswitchd's command line.
type config struct {
	program    string
	remotes    stringList // extra (or, as ovsdb-server, all) listening remotes
	privateKey string
	cert       string
	caCert     string
	db         string // external OVSDB remote; "" = embedded server
	dbFile     string // embedded server database file
	dbSock     string // embedded server socket path
	noVswitchd bool
	pidfile    bool
	pidPath    string
	logFile    bool
	logPath    string
	detach     bool
	unixctl    string
	vlog       []string
	version    bool
}

// parseArgs parses OVS-style options. "-vSPEC" / "--verbose=SPEC" are vlog
// specifications; a bare argument is the database remote, as ovs-vswitchd
// takes it.
func parseArgs(program string, args []string, stderr io.Writer) (*config, error) {
	c := &config{program: program}
	fs := flag.NewFlagSet(program, flag.ContinueOnError)
	fs.Var(&c.remotes, "remote", "OVSDB server remote to listen on (punix:PATH, ptcp:PORT[:IP], pssl:..., db:DB,TABLE,COLUMN); repeatable")
	fs.StringVar(&c.privateKey, "private-key", "", "SSL private key (file or db:Open_vSwitch,SSL,private_key)")
	fs.StringVar(&c.cert, "certificate", "", "SSL certificate (file or db:...)")
	fs.StringVar(&c.caCert, "ca-cert", "", "SSL CA certificate (file or db:...)")
	fs.StringVar(&c.caCert, "bootstrap-ca-cert", "", "SSL CA certificate, as --ca-cert")
	fs.SetOutput(stderr)
	fs.StringVar(&c.db, "db", "", "external OVSDB remote (unix:PATH or tcp:IP:PORT); default: embedded server")
	fs.StringVar(&c.dbFile, "db-file", "", "embedded database file (default $OVS_DBDIR/conf.db)")
	fs.StringVar(&c.dbSock, "db-sock", "", "embedded server socket (default $OVS_RUNDIR/db.sock)")
	fs.BoolVar(&c.noVswitchd, "no-vswitchd", false, "serve only the database")
	fs.BoolVar(&c.detach, "detach", false, "run in the background")
	fs.StringVar(&c.unixctl, "unixctl", "", "vswitchd control socket path")
	fs.BoolVar(&c.version, "version", false, "print version and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s [OPTIONS] [DATABASE]\n\nOptions handled before the flags below (as Open vSwitch spells them):\n"+
			"  --pidfile[=FILE]       write and lock a pidfile in $OVS_RUNDIR (or FILE)\n"+
			"  --log-file[=FILE]      also log to a file in $OVS_LOGDIR (or FILE)\n"+
			"  -vSPEC, --verbose=SPEC set log levels (module:destination:level), -v for debug\n"+
			"  -V                     print version and exit\n\nFlags:\n", program)
		fs.PrintDefaults()
	}
	var ignored bool
	for _, name := range []string{"no-chdir", "monitor", "mlockall", "overwrite-pidfile"} {
		fs.BoolVar(&ignored, name, false, "accepted for compatibility")
	}
	var rest []string
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "--verbose="):
			c.vlog = append(c.vlog, strings.TrimPrefix(a, "--verbose="))
		case a == "-v" || a == "--verbose":
			c.vlog = append(c.vlog, "dbg")
		case strings.HasPrefix(a, "-v") && !strings.HasPrefix(a, "-version"):
			c.vlog = append(c.vlog, a[2:])
		case a == "--pidfile" || a == "-pidfile":
			c.pidfile = true
		case strings.HasPrefix(a, "--pidfile="):
			c.pidfile, c.pidPath = true, strings.TrimPrefix(a, "--pidfile=")
		case a == "--log-file" || a == "-log-file":
			c.logFile = true
		case strings.HasPrefix(a, "--log-file="):
			c.logFile, c.logPath = true, strings.TrimPrefix(a, "--log-file=")
		case a == "-V":
			c.version = true
		default:
			rest = append(rest, a)
		}
	}
	// Options and arguments may be mixed, as with OVS's getopt.
	var pos []string
	for {
		if err := fs.Parse(rest); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	switch {
	case len(pos) > 1:
		return nil, fmt.Errorf("too many arguments: %s", strings.Join(pos, " "))
	case program == progOVSDB:
		// ovsdb-server [DATABASE]: serve only the database.
		c.noVswitchd = true
		if len(pos) == 1 {
			c.dbFile = pos[0]
		}
		if c.db != "" {
			return nil, fmt.Errorf("--db makes no sense for ovsdb-server")
		}
	case len(pos) == 1:
		if c.db != "" {
			return nil, fmt.Errorf("database given twice")
		}
		c.db = pos[0]
	case program == progVswitchd && c.db == "":
		// ovs-vswitchd's default database.
		c.db = "unix:" + filepath.Join(daemon.RunDir(), "db.sock")
	}
	if c.db != "" && !strings.HasPrefix(c.db, "unix:") && !strings.HasPrefix(c.db, "tcp:") {
		return nil, fmt.Errorf("unsupported database remote %q (use unix:PATH or tcp:IP:PORT)", c.db)
	}
	return c, nil
}

func main() {
	program := filepath.Base(os.Args[0])
	if program != progOVSDB && program != progVswitchd {
		program = progGvswitchd
	}
	c, err := parseArgs(program, os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", program, err)
		os.Exit(1)
	}
	if c.version {
		fmt.Println(unixctl.VersionString(program))
		return
	}
	if err := run(context.Background(), c, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", program, err)
		os.Exit(1)
	}
}

func absIn(dir, name, def string) string {
	if name == "" {
		name = def
	}
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(dir, name)
}
