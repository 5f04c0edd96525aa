package vsctl

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

//go:embed help.txt
var helpText string

// commandsText and optionsText are what --commands and --options print
// (the bash completion script reads them).
//
//go:embed commands.txt
var commandsText string

//go:embed options.txt
var optionsText string

const versionText = "ovs-vsctl (Open vSwitch) 3.1.0\nDB Schema 8.3.1\n"

// logger prints OVS-style log lines to stderr with a shared sequence number.
type logger struct {
	mu      sync.Mutex // the --timeout timer logs from its own goroutine
	w       io.Writer
	seq     int
	console int // level of the console destination
	syslog  int // level of the syslog destination
}

// warn logs a WARN message: numbered if any destination takes it, printed
// if the console does.
func (l *logger) warn(moduleAndMsg string) {
	l.log(levelWarn, l.syslog, moduleAndMsg)
}

// log logs a message at level; syslog is the syslog level of its module
// (ovs-vsctl keeps the reconnect module at warn there).
func (l *logger) log(level, syslog int, moduleAndMsg string) {
	if l.console < level && syslog < level {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	if l.console >= level {
		fmt.Fprintf(l.w, "%s|%05d|%s\n", time.Now().UTC().Format("2006-01-02T15:04:05Z"), l.seq, moduleAndMsg)
	}
}

// reconnectInfo logs an INFO message of the reconnect module, which only a
// console at info or louder shows.
func (l *logger) reconnectInfo(format string, args ...any) {
	l.log(levelInfo, levelWarn, "reconnect|INFO|"+fmt.Sprintf(format, args...))
}

// escapeArgs joins arguments the way ovs-vsctl logs them: arguments with
// blanks, quotes or backslashes in double quotes, with " and \ escaped.
func escapeArgs(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && !strings.ContainsAny(a, " \t\r\n\"'\\") {
			b.WriteString(a)
			continue
		}
		b.WriteByte('"')
		for j := 0; j < len(a); j++ {
			if a[j] == '"' || a[j] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(a[j])
		}
		b.WriteByte('"')
	}
	return b.String()
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// Main runs gvsctl with argv (argv[0] is the program name as invoked) and
// returns the exit status. A --timeout expiry does not return: the process
// dies by SIGALRM.
func Main(argv []string, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "ovs-vsctl: %s\n", err.Error())
		return 1
	}
	prog := "ovs-vsctl"
	if len(argv) > 0 {
		prog, argv = argv[0], argv[1:]
	}
	opts, cmds, err := parseArgs(argv)
	if err != nil {
		var ge *getoptError
		if errors.As(err, &ge) {
			fmt.Fprintf(stderr, "%s: %s\n", prog, ge.msg)
			return 1
		}
		return fail(err)
	}
	if opts.help {
		h := strings.Replace(helpText, "unix:/var/run/openvswitch/db.sock", defaultDB(), 1)
		h = strings.Replace(h, "/var/log/openvswitch/ovs-vsctl.log", ovsLogdir()+"/ovs-vsctl.log", 1)
		io.WriteString(stdout, h)
		return 0
	}
	if opts.version {
		io.WriteString(stdout, versionText)
		return 0
	}
	if opts.listCommands {
		io.WriteString(stdout, commandsText)
		return 0
	}
	if opts.listOptions {
		io.WriteString(stdout, optionsText)
		return 0
	}
	specs, err := checkCommands(cmds)
	if err != nil {
		return fail(err)
	}
	lg := &logger{w: stderr, console: opts.consoleLevel, syslog: opts.syslogLevel}
	calledAs := levelDbg
	for _, s := range specs {
		if s.write {
			calledAs = levelInfo
			break
		}
	}
	calledAsText := "vsctl|INFO|Called as " + escapeArgs(append([]string{prog}, argv...))
	if calledAs == levelDbg {
		calledAsText = "vsctl|DBG|Called as " + escapeArgs(append([]string{prog}, argv...))
	}
	lg.log(calledAs, lg.syslog, calledAsText)
	schema, err := embeddedSchema()
	if err != nil {
		return fail(err)
	}
	if err := prerequisites(schema, cmds, specs, lg); err != nil {
		return fail(err)
	}
	timeout := opts.timeout
	if timeout == 0 {
		if n, err := strconv.Atoi(os.Getenv("OVS_CTL_TIMEOUT")); err == nil && n > 0 {
			timeout = n
		}
	}
	if timeout > 0 {
		time.AfterFunc(time.Duration(timeout)*time.Second, func() {
			lg.warn("fatal_signal|WARN|terminating with signal 14 (Alarm clock)")
			dieBySignal(syscall.SIGALRM)
		})
	}
	cl, err := dialLogged(opts.db, lg, true)
	// --retry: back off 1, 2, 4, then 8 s, logging like ovs-vsctl's
	// reconnect module, which falls silent after the fourth attempt.
	for attempt, backoff := 1, time.Second; err != nil && opts.retry; attempt, backoff = attempt+1, min(2*backoff, 8*time.Second) {
		switch {
		case attempt == 4:
			lg.reconnectInfo("%s: continuing to reconnect in the background but suppressing further logging", opts.db)
		case attempt > 1 && attempt < 4:
			lg.reconnectInfo("%s: waiting %d seconds before reconnect", opts.db, int(backoff/time.Second))
		}
		// A little over the backoff, so that a --timeout due at the same
		// second fires first, as with ovs-vsctl.
		time.Sleep(backoff + 50*time.Millisecond)
		cl, err = dialLogged(opts.db, lg, attempt < 4)
	}
	if err != nil {
		return fail(err)
	}
	defer cl.close()
	tables := neededTables(schema, cmds, specs)
	if err := cl.start(tables); err != nil {
		return fail(fmt.Errorf("%s: database connection failed (%w)", opts.db, err))
	}
	return run(cl, tables, opts, cmds, specs, lg, stdout, stderr)
}

func (r *replica) reset() {
	for _, td := range r.tables {
		kept := td.order[:0]
		for _, row := range td.order {
			if row.Inserted {
				delete(td.rows, row.UUID)
				continue
			}
			row.Staged, row.Deleted = nil, false
			kept = append(kept, row)
		}
		td.order = kept
	}
}

// isConnError reports whether err is the connection failing (rather than the
// server answering with an error).
func isConnError(err error) bool {
	var re *rpcError
	return err != nil && !errors.As(err, &re)
}

// reconnect replaces a broken connection, retrying with backoff until it
// works again (only --timeout ends that), and monitors tables again.
func reconnect(cl *client, remote string, tables map[string]map[string]bool) *client {
	cl.close()
	backoff := 100 * time.Millisecond
	for {
		time.Sleep(backoff)
		backoff = min(2*backoff, 2*time.Second)
		ncl, err := dial(remote)
		if err != nil {
			continue
		}
		if err := ncl.start(tables); err != nil {
			ncl.close()
			continue
		}
		return ncl
	}
}

func run(cl *client, tables map[string]map[string]bool, opts *options, cmds []*cmdLine, specs []*cmdSpec, lg *logger, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "ovs-vsctl: %s\n", err.Error())
		return 1
	}
	for {
		seqno := cl.seqno
		cl.rep.reset()
		c := &ctx{opts: opts, rep: cl.rep, schema: cl.schema, syms: map[string]*symbol{}, tableOut: map[*bytes.Buffer]bool{}}
		if rows := cl.rep.rows("Open_vSwitch"); len(rows) > 0 {
			c.ovs = rows[0]
		} else {
			c.ovs = c.insert("Open_vSwitch", "")
		}
		outs := make([]*bytes.Buffer, len(cmds))
		var cmdErr error
		for i, cmd := range cmds {
			outs[i] = &bytes.Buffer{}
			if cmdErr = specs[i].run(c, cmd, outs[i]); cmdErr != nil {
				break
			}
		}
		for _, w := range c.warns {
			lg.warn(w)
		}
		if cmdErr != nil {
			var ta tryAgainError
			var ex *exitError
			switch {
			case errors.As(cmdErr, &ta):
				if err := cl.waitChange(seqno); isConnError(err) {
					cl = reconnect(cl, opts.db, tables)
				}
				continue
			case errors.As(cmdErr, &ex):
				return ex.code
			}
			return fail(cmdErr)
		}
		for _, name := range c.symList {
			s := c.syms[name]
			if !s.created {
				return fail(fatalf("row id \"%s\" is referenced but never created (e.g. with \"-- --id=%s create ...\")", name, name))
			}
		}
		for _, cr := range c.created {
			if cr.sym != nil && !cr.sym.strong && !cr.row.Table.IsRoot {
				lg.warn(fmt.Sprintf("vsctl|WARN|row id \"%s\" was created but no reference to it was inserted, so it will not actually appear in the database", cr.symName))
			}
		}
		plan := c.compose(txnComment(opts.args))
		next := int64(-1)
		real := map[string]string{}
		if plan.changed {
			outcome, n, rm, err := cl.commit(plan)
			if isConnError(err) && !errorsAs(err, new(*fatalError)) && !errorsAs(err, new(*txnError)) {
				// The connection broke: like ovs-vsctl, reconnect and run
				// the commands again against the fresh contents.
				cl = reconnect(cl, opts.db, tables)
				continue
			}
			if err != nil {
				var te *txnError
				if errors.As(err, &te) {
					lg.warn("ovsdb_idl|WARN|" + te.Error())
				}
				return fail(err)
			}
			if outcome == txnTryAgain {
				if err := cl.waitChange(seqno); isConnError(err) {
					cl = reconnect(cl, opts.db, tables)
				}
				continue
			}
			next, real = n, rm
		}
		for _, cr := range c.created {
			u := real[cr.row.UUID]
			if u == "" {
				u = cr.row.UUID
			}
			cr.out.WriteString(u + "\n")
		}
		var all bytes.Buffer
		for _, o := range outs {
			if opts.oneline && !c.tableOut[o] {
				s := strings.TrimSuffix(o.String(), "\n")
				s = strings.ReplaceAll(s, "\\", "\\\\")
				s = strings.ReplaceAll(s, "\n", "\\n")
				all.WriteString(s + "\n")
			} else {
				all.Write(o.Bytes())
			}
		}
		_, _ = stdout.Write(all.Bytes())
		if plan.changed && !opts.noWait && next >= 0 {
			var err error
			if cl, err = waitCurCfg(cl, opts.db, next); err != nil {
				return fail(err)
			}
			postChecks(cl, c, real, stderr)
		}
		return 0
	}
}

// waitCurCfg waits until cur_cfg reaches next. Like ovs-vsctl it survives
// the server going away (a restarting switch): it reconnects, monitors
// again and keeps waiting; only --timeout ends the wait. It returns the
// client in use at the end.
func waitCurCfg(cl *client, remote string, next int64) (*client, error) {
	tables := map[string]map[string]bool{"Open_vSwitch": nil, "Interface": {"name": true, "ofport": true, "error": true}}
	for {
		for _, r := range cl.rep.rows("Open_vSwitch") {
			d := r.Get(r.Table.Columns["cur_cfg"])
			if len(d.Keys) == 1 && d.Keys[0].I >= next {
				return cl, nil
			}
		}
		if err := cl.waitUpdate(); err == nil {
			continue
		}
		cl = reconnect(cl, remote, tables)
	}
}

func postChecks(cl *client, c *ctx, real map[string]string, stderr io.Writer) {
	any := false
	for _, ni := range c.newIfaces {
		u := real[ni.UUID]
		row := cl.rep.row("Interface", u)
		if row == nil {
			continue
		}
		ofport := row.Get(row.Table.Columns["ofport"])
		if len(ofport.Keys) == 1 && ofport.Keys[0].I != -1 {
			continue
		}
		name := c.strCol(row, "name")
		if e := row.Get(row.Table.Columns["error"]); len(e.Keys) == 1 {
			fmt.Fprintf(stderr, "ovs-vsctl: Error detected while setting up '%s': %s.  See ovs-vswitchd log for details.\n", name, e.Keys[0].S)
		} else {
			fmt.Fprintf(stderr, "ovs-vsctl: Error detected while setting up '%s'.  See ovs-vswitchd log for details.\n", name)
		}
		any = true
	}
	if any {
		fmt.Fprintf(stderr, "ovs-vsctl: The default log directory is \"%s\".\n", ovsLogdir())
	}
}

// prerequisites checks what ovs-vsctl checks before it connects: table
// names of database commands, and "create" without --id on a table whose
// rows only live while referenced.
func prerequisites(s *Schema, cmds []*cmdLine, specs []*cmdSpec, lg *logger) error {
	c := &ctx{schema: s}
	for i, spec := range specs {
		if !spec.dbTable {
			continue
		}
		t, err := c.findTable(cmds[i].args[0])
		if err != nil {
			return err
		}
		if spec.name == "create" && !cmds[i].has("--id") && !t.IsRoot {
			lg.warn(fmt.Sprintf("db_ctl_base|WARN|applying \"create\" command to table %s without --id option will have no effect", t.Name))
		}
		if spec.name == "list" || spec.name == "find" {
			if _, err := c.listColumns(t, cmds[i]); err != nil {
				return err
			}
		}
		var cols []string
		args := cmds[i].args
		switch spec.name {
		case "get", "set", "wait-until":
			cols = args[min(2, len(args)):]
		case "find":
			cols = args[1:]
		case "add", "remove":
			cols = args[2:3]
		case "clear":
			cols = args[2:]
		}
		for _, a := range cols {
			name := a
			if j := strings.IndexAny(a, ":=!<>{"); j >= 0 {
				name = a[:j]
			}
			if name == "" {
				continue
			}
			if _, err := c.findColumn(t, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// defaultDB is the database used without --db: db.sock in OVS_RUNDIR.
func defaultDB() string {
	dir := os.Getenv("OVS_RUNDIR")
	if dir == "" {
		dir = "/var/run/openvswitch"
	}
	return "unix:" + dir + "/db.sock"
}

// ovsLogdir is where Open vSwitch daemons log: OVS_LOGDIR or the default.
func ovsLogdir() string {
	if dir := os.Getenv("OVS_LOGDIR"); dir != "" {
		return dir
	}
	return "/var/log/openvswitch"
}

// dialLogged connects, logging like ovs-vsctl's reconnect module.
func dialLogged(remote string, lg *logger, verbose bool) (*client, error) {
	if verbose {
		lg.reconnectInfo("%s: connecting...", remote)
	}
	cl, err := dial(remote)
	if err != nil {
		var ce *connError
		if verbose && errors.As(err, &ce) {
			lg.reconnectInfo("%s: connection attempt failed (%s)", remote, strerror(ce.err))
		}
		return nil, err
	}
	if verbose {
		lg.reconnectInfo("%s: connected", remote)
	}
	return cl, nil
}
