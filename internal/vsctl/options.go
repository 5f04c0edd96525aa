package vsctl

import (
	"fmt"
	"strconv"
	"strings"
)

// options are the global options.
type options struct {
	db         string
	noWait     bool
	retry      bool
	timeout    int
	dryRun     bool
	oneline    bool
	format     string // table, list, html, csv, json
	data       string // string, bare, json
	noHeadings bool
	pretty     bool
	maxWidth   int // --max-column-width, 0 for none
	// Log levels of the console (default warn) and syslog (default info)
	// destinations, as set by -v/--verbose and --no-syslog (see verbose).
	consoleLevel, syslogLevel int
	help                      bool
	version                   bool
	// --commands and --options
	listCommands, listOptions bool
	args                      []string // original arguments, for the comment
}

// longOpt is one entry of the long option table, in the order getopt would
// report ambiguities.
type longOpt struct {
	name   string
	hasArg int // 0 none, 1 required, 2 optional
	cmd    bool
}

var longOpts = []longOpt{
	{"db", 1, false}, {"no-syslog", 0, false}, {"no-wait", 0, false}, {"dry-run", 0, false},
	{"oneline", 0, false}, {"timeout", 1, false}, {"retry", 0, false}, {"help", 0, false},
	{"version", 0, false}, {"leader-only", 0, false}, {"no-leader-only", 0, false},
	{"shuffle-remotes", 0, false}, {"no-shuffle-remotes", 0, false},
	{"verbose", 2, false}, {"log-file", 2, false}, {"syslog-method", 1, false}, {"syslog-target", 1, false},
	{"format", 1, false}, {"data", 1, false}, {"no-headings", 0, false}, {"pretty", 0, false},
	{"bare", 0, false}, {"max-column-width", 1, false}, {"commands", 0, false}, {"options", 0, false},
	{"private-key", 1, false}, {"certificate", 1, false}, {"ca-cert", 1, false},
	{"ssl-protocols", 1, false}, {"ssl-ciphers", 1, false}, {"peer-ca-cert", 1, false},
	{"bootstrap-ca-cert", 1, false},
	{"if-exists", 0, true}, {"id", 1, true}, {"columns", 1, true}, {"all", 0, true},
	{"real", 0, true}, {"fake", 0, true}, {"may-exist", 0, true}, {"fake-iface", 0, true},
	{"with-iface", 0, true}, {"inactivity-probe", 1, true}, {"bootstrap", 0, true},
}

func lookupLong(name string) (*longOpt, error) {
	var matches []*longOpt
	for i := range longOpts {
		o := &longOpts[i]
		if o.name == name {
			return o, nil
		}
		if strings.HasPrefix(o.name, name) {
			matches = append(matches, o)
		}
	}
	switch len(matches) {
	case 0:
		return nil, nil
	case 1:
		return matches[0], nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "option '--%s' is ambiguous; possibilities:", name)
	for _, m := range matches {
		fmt.Fprintf(&b, " '--%s'", m.name)
	}
	return nil, &getoptError{msg: b.String()}
}

// parsed command line: options, then commands with their own options.
type cmdLine struct {
	name    string
	options map[string]string // "--if-exists" -> "" , "--id" -> "@x"
	optList []string
	args    []string
}

func parseArgs(argv []string) (*options, []*cmdLine, error) {
	o := &options{db: defaultDB(), format: "list", data: "string", args: argv,
		consoleLevel: levelWarn, syslogLevel: levelInfo}
	var firstOpts []string
	i := 0
	for i < len(argv) {
		a := argv[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		i++
		if strings.HasPrefix(a, "--") {
			name, val, hasVal := strings.Cut(a[2:], "=")
			lo, err := lookupLong(name)
			if err != nil {
				return nil, nil, err
			}
			if lo == nil {
				return nil, nil, getoptf("unrecognized option '%s'", a)
			}
			if lo.hasArg == 1 && !hasVal {
				if i >= len(argv) {
					return nil, nil, getoptf("option '--%s' requires an argument", lo.name)
				}
				val, hasVal = argv[i], true
				i++
			}
			if lo.hasArg == 0 && hasVal {
				return nil, nil, getoptf("option '--%s' doesn't allow an argument", lo.name)
			}
			if lo.cmd {
				s := "--" + lo.name
				if hasVal {
					s += "=" + val
				}
				dup := false
				for _, f := range firstOpts {
					if f == s {
						dup = true
					}
				}
				if !dup {
					firstOpts = append(firstOpts, s)
				}
				continue
			}
			if err := o.apply(lo.name, val); err != nil {
				return nil, nil, err
			}
			continue
		}
		// short options, possibly clustered
		for j := 1; j < len(a); j++ {
			c := a[j]
			var name string
			switch c {
			case 'h':
				name = "help"
			case 'V':
				name = "version"
			case 't':
				name = "timeout"
			case 'f':
				name = "format"
			case 'd':
				name = "data"
			case 'v':
				o.verbose(a[j+1:])
				j = len(a)
				continue
			case 'p', 'c', 'C':
				name = "ssl"
			default:
				return nil, nil, getoptf("invalid option -- '%c'", c)
			}
			if name == "help" || name == "version" {
				_ = o.apply(name, "")
				continue
			}
			val := a[j+1:]
			if val == "" {
				if i >= len(argv) {
					return nil, nil, getoptf("option requires an argument -- '%c'", c)
				}
				val = argv[i]
				i++
			}
			if err := o.apply(name, val); err != nil {
				return nil, nil, err
			}
			break
		}
	}
	if o.help || o.version || o.listCommands || o.listOptions {
		return o, nil, nil
	}
	cmds, err := splitCommands(argv[i:], firstOpts)
	if err != nil {
		return nil, nil, err
	}
	return o, cmds, nil
}

func (o *options) apply(name, val string) error {
	switch name {
	case "db":
		o.db = val
	case "no-wait":
		o.noWait = true
	case "retry":
		o.retry = true
	case "dry-run":
		o.dryRun = true
	case "oneline":
		o.oneline = true
	case "timeout":
		n, err := strconv.Atoi(val)
		if err != nil || n <= 0 {
			return fatalf("value %s on -t or --timeout is invalid", val)
		}
		o.timeout = n
	case "format":
		switch val {
		case "table", "list", "html", "csv", "json":
			o.format = val
		default:
			return fatalf("unknown output format \"%s\"", val)
		}
	case "data":
		switch val {
		case "string", "bare", "json":
			o.data = val
		default:
			return fatalf("unknown data format \"%s\"", val)
		}
	case "no-headings":
		o.noHeadings = true
	case "pretty":
		o.pretty = true
	case "verbose":
		o.verbose(val)
	case "no-syslog":
		o.syslogLevel = levelWarn
	case "max-column-width":
		o.maxWidth = int(atoi(val))
	case "bare":
		o.format, o.data, o.noHeadings = "list", "bare", true
	case "help":
		o.help = true
	case "version":
		o.version = true
	case "commands":
		o.listCommands = true
	case "options":
		o.listOptions = true
	}
	return nil
}

func splitCommands(args []string, firstOpts []string) ([]*cmdLine, error) {
	var cmds []*cmdLine
	start := 0
	for start <= len(args) {
		end := start
		for end < len(args) && args[end] != "--" {
			end++
		}
		seg := args[start:end]
		if len(cmds) == 0 && len(firstOpts) > 0 {
			seg = append(append([]string{}, firstOpts...), seg...)
			firstOpts = nil
		}
		if len(seg) > 0 {
			c := &cmdLine{options: map[string]string{}}
			k := 0
			for k < len(seg) && strings.HasPrefix(seg[k], "--") {
				name, val, hasVal := strings.Cut(seg[k], "=")
				if _, dup := c.options[name]; dup {
					return nil, fatalf("'%s' option specified multiple times", name)
				}
				if hasVal {
					c.options[name] = val
				} else {
					c.options[name] = ""
				}
				c.optList = append(c.optList, name)
				k++
			}
			if k == len(seg) {
				return nil, fatalf("missing command name (use --help for help)")
			}
			c.name = seg[k]
			c.args = seg[k+1:]
			cmds = append(cmds, c)
		}
		start = end + 1
	}
	if len(cmds) == 0 {
		return nil, fatalf("missing command name (use --help for help)")
	}
	return cmds, nil
}

// getoptError is a command line syntax error reported the way getopt does,
// with the program name as invoked.
type getoptError struct{ msg string }

func (e *getoptError) Error() string { return e.msg }

func getoptf(format string, args ...any) error {
	return &getoptError{msg: fmt.Sprintf(format, args...)}
}

// Log levels, from quietest to loudest.
const (
	levelOff = iota
	levelEmer
	levelErr
	levelWarn
	levelInfo
	levelDbg
)

var levelNames = map[string]int{"off": levelOff, "emer": levelEmer, "err": levelErr, "warn": levelWarn, "info": levelInfo, "dbg": levelDbg}

// verbose applies a -v/--verbose spec such as "console:off" or
// "vsctl:syslog:warn": words naming a destination select it, a level word
// sets it (all destinations when none is named), module names are
// accepted and ignored. An empty spec means every destination at dbg.
func (o *options) verbose(spec string) {
	if spec == "" {
		o.consoleLevel, o.syslogLevel = levelDbg, levelDbg
		return
	}
	level := -1
	console, syslog := false, false
	for _, w := range strings.FieldsFunc(spec, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		switch w {
		case "console":
			console = true
		case "syslog":
			syslog = true
		case "any":
			console, syslog = true, true
		default:
			if l, ok := levelNames[w]; ok {
				level = l
			}
		}
	}
	if level < 0 {
		level = levelDbg
	}
	if !console && !syslog {
		console, syslog = true, true
	}
	if console {
		o.consoleLevel = level
	}
	if syslog {
		o.syslogLevel = level
	}
}
