package vsctl

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/gvswitch/gvswitch/jsonrpc"
	"github.com/gvswitch/gvswitch/ovsdb/vswitch"
)

// Row is one row of the replica. Data holds the values the server sent;
// Staged the values the current commands wrote.
type Row struct {
	UUID     string
	Table    *Table
	Data     map[string]*Datum
	Staged   map[string]*Datum
	Inserted bool
	Deleted  bool
}

// Get returns the current value of column c (staged, else committed, else
// the default).
func (r *Row) Get(c *Column) *Datum {
	if c == nil {
		// A column the server's schema lacks: read as empty.
		return &Datum{}
	}
	if c.Name == "_uuid" {
		return &Datum{Keys: []Atom{{T: TypeUUID, S: r.UUID}}}
	}
	if d, ok := r.Staged[c.Name]; ok {
		return d
	}
	if d, ok := r.Data[c.Name]; ok {
		return d
	}
	d := DefaultDatum(&c.Type)
	if r.Data != nil {
		r.Data[c.Name] = d
	}
	return d
}

// tableData is the replica of one table: rows by uuid and their iteration
// order (the order ovs-vsctl would list them in).
type tableData struct {
	rows  map[string]*Row
	order []*Row
}

// replica is the client's copy of the database.
type replica struct {
	schema *Schema
	tables map[string]*tableData
}

func newReplica(s *Schema) *replica {
	r := &replica{schema: s, tables: map[string]*tableData{}}
	for name := range s.Tables {
		r.tables[name] = &tableData{rows: map[string]*Row{}}
	}
	return r
}

// rows returns the live rows of a table in iteration order.
func (r *replica) rows(table string) []*Row {
	td := r.tables[table]
	out := make([]*Row, 0, len(td.order))
	for _, row := range td.order {
		if !row.Deleted {
			out = append(out, row)
		}
	}
	return out
}

func (r *replica) row(table, uuid string) *Row {
	row := r.tables[table].rows[uuid]
	if row == nil || row.Deleted {
		return nil
	}
	return row
}

// client is a connection to ovsdb-server with the replica of Open_vSwitch.
type client struct {
	conn    *jsonrpc.Conn
	db      string
	nextID  int
	msgs    chan *jsonrpc.Message
	readErr chan error
	schema  *Schema
	rep     *replica
	// seqno counts applied update notifications, so that a retry can tell
	// whether the database changed since the commands last ran.
	seqno int
}

// connError is a failure to reach the database, printed as
// "REMOTE: database connection failed (STRERROR)".
type connError struct {
	remote string
	err    error
}

func (e *connError) Error() string {
	return fmt.Sprintf("%s: database connection failed (%s)", e.remote, strerror(e.err))
}

func (e *connError) Unwrap() error { return e.err }

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

func dialRemote(remote string) (net.Conn, error) {
	switch {
	case strings.HasPrefix(remote, "unix:"):
		return net.Dial("unix", remote[5:])
	case strings.HasPrefix(remote, "tcp:"):
		hp := remote[4:]
		i := strings.LastIndexByte(hp, ':')
		if i < 0 {
			return nil, syscall.EAFNOSUPPORT
		}
		host := strings.Trim(hp[:i], "[]")
		return net.Dial("tcp", net.JoinHostPort(host, hp[i+1:]))
	}
	return nil, syscall.EAFNOSUPPORT
}

func dial(remote string) (*client, error) {
	var last error
	for _, r := range strings.Split(remote, ",") {
		nc, err := dialRemote(r)
		if err != nil {
			last = &connError{remote: remote, err: err}
			continue
		}
		c := &client{conn: jsonrpc.NewConn(nc), db: "Open_vSwitch", msgs: make(chan *jsonrpc.Message, 16), readErr: make(chan error, 1)}
		go c.readLoop()
		return c, nil
	}
	return nil, last
}

func (c *client) readLoop() {
	for {
		m, err := c.conn.Read()
		if err != nil {
			c.readErr <- err
			close(c.msgs)
			return
		}
		c.msgs <- m
	}
}

func (c *client) close() { _ = c.conn.Close() }

// call sends a request and returns its result, applying update
// notifications that arrive meanwhile.
func (c *client) call(method string, params any) (json.RawMessage, error) {
	id := c.nextID
	c.nextID++
	if err := c.conn.Write(jsonrpc.NewRequest(method, params, id)); err != nil {
		return nil, err
	}
	want := strconv.Itoa(id)
	for {
		m, err := c.next()
		if err != nil {
			return nil, err
		}
		if (m.Kind == jsonrpc.KindReply || m.Kind == jsonrpc.KindError) && string(m.ID) == want {
			if m.Kind == jsonrpc.KindError {
				return nil, &rpcError{raw: m.Error}
			}
			return m.Result, nil
		}
	}
}

type rpcError struct{ raw json.RawMessage }

func (e *rpcError) Error() string { return string(e.raw) }

// next returns the next message that is not handled internally.
func (c *client) next() (*jsonrpc.Message, error) {
	for {
		m, ok := <-c.msgs
		if !ok {
			err := <-c.readErr
			c.readErr <- err
			return nil, err
		}
		switch {
		case m.Kind == jsonrpc.KindRequest && m.Method == "echo":
			_ = c.conn.Write(jsonrpc.NewReply(m.ID, m.Params))
			continue
		case m.Kind == jsonrpc.KindNotify && isUpdate(m.Method):
			var p []json.RawMessage
			if json.Unmarshal(m.Params, &p) == nil && len(p) >= 2 {
				_ = c.applyUpdates(p[len(p)-1], false)
				c.seqno++
			}
		}
		return m, nil
	}
}

// waitChange blocks until the database changed after seqno was taken.
func (c *client) waitChange(seqno int) error {
	for c.seqno == seqno {
		if err := c.waitUpdate(); err != nil {
			return err
		}
	}
	return nil
}

// waitUpdate blocks until the next update notification has been applied.
func (c *client) waitUpdate() error {
	for {
		m, err := c.next()
		if err != nil {
			return err
		}
		if m.Kind == jsonrpc.KindNotify && isUpdate(m.Method) {
			return nil
		}
	}
}

// start loads the schema and monitors the tables the commands need. It
// uses the embedded Open_vSwitch schema, saving a get_schema round trip
// and its ~100 kB reply; if the server rejects the monitor request (an
// older or newer schema), it asks the server for its schema and monitors
// every table of that instead.
func (c *client) start(tables map[string]map[string]bool) error {
	s, err := embeddedSchema()
	if err != nil {
		return err
	}
	c.schema = s
	if err := c.monitor(tables); err == nil {
		return nil
	}
	raw, err := c.call("get_schema", []string{c.db})
	if err != nil {
		return err
	}
	if c.schema, err = ParseSchema(raw); err != nil {
		return err
	}
	return c.monitor(nil)
}

// monitor requests the initial contents of the given tables (all when nil)
// and updates to them, preferring monitor_cond_since like ovs-vsctl (the
// server then sends rows in the same order), then monitor_cond, then
// monitor.
func (c *client) monitor(tables map[string]map[string]bool) error {
	c.rep = newReplica(c.schema)
	reqs := map[string]any{}
	for name, t := range c.schema.Tables {
		want, ok := tables[name]
		if tables != nil && !ok {
			continue
		}
		cols := make([]string, 0, len(t.Columns))
		for _, col := range t.Sorted[1:] {
			if want == nil || want[col.Name] {
				cols = append(cols, col.Name)
			}
		}
		reqs[name] = []any{map[string]any{"columns": cols}}
	}
	monid := []string{"monid", c.db}
	res, err := c.call("monitor_cond_since", []any{c.db, monid, reqs, "00000000-0000-0000-0000-000000000000"})
	if err == nil {
		var arr []json.RawMessage
		if json.Unmarshal(res, &arr) != nil || len(arr) != 3 {
			return errors.New("bad monitor_cond_since reply format")
		}
		return c.applyUpdates(arr[2], true)
	}
	var re *rpcError
	if !errors.As(err, &re) {
		return err
	}
	if res, err = c.call("monitor_cond", []any{c.db, monid, reqs}); err == nil {
		return c.applyUpdates(res, true)
	}
	if !errors.As(err, &re) {
		return err
	}
	for name, r := range reqs {
		reqs[name] = r.([]any)[0]
	}
	if res, err = c.call("monitor", []any{c.db, monid, reqs}); err != nil {
		return err
	}
	return c.applyUpdates(res, true)
}

var (
	schemaOnce sync.Once
	schemaVal  *Schema
	schemaErr  error
)

func embeddedSchema() (*Schema, error) {
	schemaOnce.Do(func() { schemaVal, schemaErr = ParseSchema(vswitch.SchemaJSON) })
	return schemaVal, schemaErr
}

// applyUpdates applies <table-updates> (v1) or <table-updates2> (v2). The
// initial contents also fix each table's row order. The message is decoded
// once into generic values; a separate scan recovers the member order of
// each table's rows, which encoding/json maps lose.
func (c *client) applyUpdates(raw json.RawMessage, initial bool) error {
	v, err := decodeJSON(raw)
	if err != nil {
		return err
	}
	tables, ok := v.(map[string]any)
	if !ok {
		return errors.New("table updates: not an object")
	}
	var order map[string][]string
	if initial {
		if order, err = rowKeyOrder(raw); err != nil {
			return err
		}
	}
	for tname, tv := range tables {
		t := c.schema.Tables[tname]
		if t == nil {
			continue
		}
		td := c.rep.tables[tname]
		rows, ok := tv.(map[string]any)
		if !ok {
			return fmt.Errorf("table %s: not an object", tname)
		}
		for u, rv := range rows {
			ru, ok := rv.(map[string]any)
			if !ok {
				return fmt.Errorf("table %s row %s: not an object", tname, u)
			}
			if err := c.applyRowUpdate(t, td, u, ru, initial); err != nil {
				return err
			}
		}
		if initial {
			for _, u := range iterationOrder(order[tname]) {
				if row := td.rows[u]; row != nil {
					td.order = append(td.order, row)
				}
			}
		}
	}
	return nil
}

func (c *client) applyRowUpdate(t *Table, td *tableData, u string, ru map[string]any, initial bool) error {
	var cols any
	diff, replace := false, false
	switch {
	case ru["initial"] != nil:
		cols, replace = ru["initial"], true
	case ru["insert"] != nil:
		cols, replace = ru["insert"], true
	case ru["modify"] != nil:
		cols, diff = ru["modify"], true
	case ru["new"] != nil:
		cols = ru["new"]
	default: // "delete", or v1 without "new"
		if row := td.rows[u]; row != nil {
			delete(td.rows, u)
			for i, r := range td.order {
				if r == row {
					td.order = append(td.order[:i], td.order[i+1:]...)
					break
				}
			}
		}
		return nil
	}
	values, ok := cols.(map[string]any)
	if !ok {
		return fmt.Errorf("table %s row %s: columns not an object", t.Name, u)
	}
	row := td.rows[u]
	if row == nil {
		row = &Row{UUID: u, Table: t, Data: map[string]*Datum{}}
		td.rows[u] = row
		if !initial {
			td.order = append(td.order, row)
		}
	} else if replace {
		row.Data = map[string]*Datum{}
	}
	for cname, v := range values {
		col := t.Columns[cname]
		if col == nil {
			continue
		}
		typ := col.Type
		if diff && typ.IsComposite() {
			typ.Min = 0
		}
		d, err := datumFromValue(v, &typ)
		if err != nil {
			return fmt.Errorf("table %s column %s: %w", t.Name, cname, err)
		}
		if diff && col.Type.IsComposite() {
			d = applyDiff(row.original(col), d, col.Type.IsMap())
		}
		row.Data[cname] = d
	}
	return nil
}

// rowKeyOrder returns, for each member (table) of a JSON object, the names
// of the members of its value (rows) in text order.
func rowKeyOrder(raw []byte) (map[string][]string, error) {
	sc := &jsonScanner{b: raw}
	out := map[string][]string{}
	err := sc.object(func(table string) error {
		var keys []string
		err := sc.object(func(row string) error {
			keys = append(keys, row)
			return sc.skipValue()
		})
		out[table] = keys
		return err
	})
	return out, err
}

// jsonScanner walks JSON text without building values.
type jsonScanner struct {
	b []byte
	i int
}

var errScan = errors.New("malformed JSON")

func (s *jsonScanner) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

// str reads a string token (s.b[s.i] == '"') and returns its raw contents;
// member names here are uuids and table names, which need no unescaping.
func (s *jsonScanner) str() (string, error) {
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			j++
		case '"':
			s.i = j + 1
			return string(s.b[start:j]), nil
		}
	}
	return "", errScan
}

// object calls member for each member name, with s positioned at its value.
func (s *jsonScanner) object(member func(string) error) error {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return errScan
	}
	s.i++
	for {
		s.ws()
		if s.i >= len(s.b) {
			return errScan
		}
		switch s.b[s.i] {
		case '}':
			s.i++
			return nil
		case ',':
			s.i++
			continue
		case '"':
			k, err := s.str()
			if err != nil {
				return err
			}
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return errScan
			}
			s.i++
			if err := member(k); err != nil {
				return err
			}
		default:
			return errScan
		}
	}
}

// skipValue skips one value of any kind.
func (s *jsonScanner) skipValue() error {
	s.ws()
	depth := 0
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case '"':
			if _, err := s.str(); err != nil {
				return err
			}
			if depth == 0 {
				return nil
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth < 0 {
				return errScan
			}
			if depth == 0 {
				s.i++
				return nil
			}
		case ',':
			if depth == 0 {
				return nil
			}
		}
		s.i++
	}
	if depth == 0 {
		return nil
	}
	return errScan
}

// applyDiff applies an update2 diff to a set or map: elements in the diff
// are toggled; for maps a key with a different value is replaced.
func applyDiff(old, diff *Datum, isMap bool) *Datum {
	d := old.Clone()
	for i, k := range diff.Keys {
		j := d.Find(k)
		switch {
		case j < 0:
			var v Atom
			if isMap {
				v = diff.Values[i]
			}
			d.Add(k, v, isMap, false)
		case isMap && compareAtoms(d.Values[j], diff.Values[i]) != 0:
			d.Values[j] = diff.Values[i]
		default:
			d.RemoveAt(j)
		}
	}
	return d
}

func isUpdate(method string) bool {
	return method == "update" || method == "update2" || method == "update3"
}
