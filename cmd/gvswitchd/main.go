package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// config is gvswitchd's command line.
type config struct {
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
func parseArgs(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("gvswitchd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.db, "db", "", "external OVSDB remote (unix:PATH or tcp:IP:PORT); default: embedded server")
	fs.StringVar(&c.dbFile, "db-file", "", "embedded database file (default $OVS_DBDIR/conf.db)")
	fs.StringVar(&c.dbSock, "db-sock", "", "embedded server socket (default $OVS_RUNDIR/db.sock)")
	fs.BoolVar(&c.noVswitchd, "no-vswitchd", false, "serve only the database")
	fs.BoolVar(&c.detach, "detach", false, "run in the background")
	fs.StringVar(&c.unixctl, "unixctl", "", "vswitchd control socket path")
	fs.BoolVar(&c.version, "version", false, "print version and exit")
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
	if err := fs.Parse(rest); err != nil {
		return nil, err
	}
	switch fs.NArg() {
	case 0:
	case 1:
		if c.db != "" {
			return nil, fmt.Errorf("database given twice")
		}
		c.db = fs.Arg(0)
	default:
		return nil, fmt.Errorf("too many arguments: %s", strings.Join(fs.Args(), " "))
	}
	if c.db != "" && !strings.HasPrefix(c.db, "unix:") && !strings.HasPrefix(c.db, "tcp:") {
		return nil, fmt.Errorf("unsupported database remote %q (use unix:PATH or tcp:IP:PORT)", c.db)
	}
	return c, nil
}

func main() {
	c, err := parseArgs(os.Args[1:], os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gvswitchd: %v\n", err)
		os.Exit(1)
	}
	if c.version {
		fmt.Printf("gvswitchd (Open vSwitch) 3.1.0\n")
		return
	}
	if err := run(context.Background(), c, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "gvswitchd: %v\n", err)
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
