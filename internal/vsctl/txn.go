package vsctl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

type createdRow struct {
	row     *Row
	out     *bytes.Buffer
	sym     *symbol
	symName string
}

// txnPlan is a composed transaction and how to read its reply.
type txnPlan struct {
	ops       []json.RawMessage
	inserts   map[int]*Row // op index -> inserted row
	nextCfgAt int          // index of the next_cfg select, -1 if none
	changed   bool
}

func rowName(uuid string) string { return "row" + strings.ReplaceAll(uuid, "-", "_") }

func whereUUID(b *bytes.Buffer, r *Row) {
	b.WriteString(`[["_uuid","==",`)
	if r.Inserted {
		b.WriteString(`["named-uuid",`)
		writeJSONString(b, rowName(r.UUID))
	} else {
		b.WriteString(`["uuid",`)
		writeJSONString(b, r.UUID)
	}
	b.WriteString("]]]")
}

// compose builds the transact operations for the staged changes.
func (c *ctx) compose(comment string) *txnPlan {
	p := &txnPlan{inserts: map[int]*Row{}, nextCfgAt: -1}
	inserted := map[string]bool{}
	for _, name := range c.schema.Names {
		for _, r := range c.rep.tables[name].order {
			if r.Inserted && !r.Deleted {
				inserted[r.UUID] = true
			}
		}
	}
	named := func(u string) string {
		if inserted[u] {
			return rowName(u)
		}
		return ""
	}
	var verifies, writes []json.RawMessage
	for _, name := range c.schema.Names {
		t := c.schema.Tables[name]
		for _, r := range c.rep.tables[name].order {
			var b bytes.Buffer
			switch {
			case r.Inserted && r.Deleted:
				continue
			case r.Inserted:
				if name == "Open_vSwitch" && len(c.rep.rows(name)) == 1 {
					verifies = append(verifies, json.RawMessage(`{"op":"wait","table":"Open_vSwitch","where":[],"timeout":0,"until":"==","rows":[]}`))
				}
				b.WriteString(`{"op":"insert","table":`)
				writeJSONString(&b, name)
				b.WriteString(`,"uuid-name":`)
				writeJSONString(&b, rowName(r.UUID))
				b.WriteString(`,"row":{`)
				first := true
				for _, col := range t.Sorted[1:] {
					d, ok := r.Staged[col.Name]
					if !ok || d.IsDefault(&col.Type) {
						continue
					}
					if !first {
						b.WriteByte(',')
					}
					first = false
					writeJSONString(&b, col.Name)
					b.WriteByte(':')
					d.AppendJSON(&b, &col.Type, named)
				}
				b.WriteString("}}")
				writes = append(writes, b.Bytes())
				p.inserts[len(writes)-1] = r
			case r.Deleted:
				if !t.IsRoot {
					continue
				}
				b.WriteString(`{"op":"delete","table":`)
				writeJSONString(&b, name)
				b.WriteString(`,"where":`)
				whereUUID(&b, r)
				b.WriteString("}")
				writes = append(writes, b.Bytes())
			default:
				var cols []*Column
				for _, col := range t.Sorted[1:] {
					if d, ok := r.Staged[col.Name]; ok && !d.Equal(r.original(col)) {
						cols = append(cols, col)
					}
				}
				if len(cols) == 0 {
					continue
				}
				var v bytes.Buffer
				v.WriteString(`{"op":"wait","table":`)
				writeJSONString(&v, name)
				v.WriteString(`,"timeout":0,"where":`)
				whereUUID(&v, r)
				v.WriteString(`,"until":"==","columns":[`)
				b.WriteString(`{"op":"update","table":`)
				writeJSONString(&b, name)
				b.WriteString(`,"where":`)
				whereUUID(&b, r)
				b.WriteString(`,"row":{`)
				var rowv bytes.Buffer
				for i, col := range cols {
					if i > 0 {
						v.WriteByte(',')
						b.WriteByte(',')
						rowv.WriteByte(',')
					}
					writeJSONString(&v, col.Name)
					writeJSONString(&b, col.Name)
					b.WriteByte(':')
					r.Staged[col.Name].AppendJSON(&b, &col.Type, named)
					writeJSONString(&rowv, col.Name)
					rowv.WriteByte(':')
					r.original(col).AppendJSON(&rowv, &col.Type, nil)
				}
				b.WriteString("}}")
				v.WriteString(`],"rows":[{`)
				v.Write(rowv.Bytes())
				v.WriteString("}]}")
				verifies = append(verifies, v.Bytes())
				writes = append(writes, b.Bytes())
			}
		}
	}
	if len(writes) == 0 {
		return p
	}
	p.changed = true
	p.ops = append(p.ops, verifies...)
	base := len(p.ops)
	p.ops = append(p.ops, writes...)
	ins := map[int]*Row{}
	for i, r := range p.inserts {
		ins[base+i] = r
	}
	p.inserts = ins
	if !c.opts.noWait && c.ovs != nil {
		var b bytes.Buffer
		b.WriteString(`{"op":"mutate","table":"Open_vSwitch","where":`)
		whereUUID(&b, c.ovs)
		b.WriteString(`,"mutations":[["next_cfg","+=",1]]}`)
		p.ops = append(p.ops, b.Bytes())
		b = bytes.Buffer{}
		b.WriteString(`{"op":"select","table":"Open_vSwitch","where":`)
		whereUUID(&b, c.ovs)
		b.WriteString(`,"columns":["next_cfg"]}`)
		p.ops = append(p.ops, b.Bytes())
		p.nextCfgAt = len(p.ops) - 1
	}
	b := bytes.Buffer{}
	b.WriteString(`{"op":"comment","comment":`)
	writeJSONString(&b, comment)
	b.WriteString("}")
	p.ops = append(p.ops, b.Bytes())
	if c.opts.dryRun {
		p.ops = append(p.ops, json.RawMessage(`{"op":"abort"}`))
	}
	return p
}

func txnComment(args []string) string {
	parent := "unknown"
	ppid := os.Getppid()
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", ppid)); err == nil {
		if i := bytes.IndexByte(b, 0); i > 0 {
			parent = filepath.Base(string(b[:i]))
		}
	}
	return fmt.Sprintf("ovs-vsctl (invoked by %s (pid %d)): ovs-vsctl %s", parent, ppid, strings.Join(args, " "))
}

// txnOutcome is the result of a commit.
type txnOutcome int

const (
	txnOK txnOutcome = iota
	txnTryAgain
)

// sortedErrorJSON renders an error object with sorted members, compact.
func sortedErrorJSON(raw json.RawMessage) string {
	v, err := decodeJSON(raw)
	if err != nil {
		return string(raw)
	}
	var b bytes.Buffer
	writeCompact(&b, v)
	return b.String()
}

func writeCompact(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sortStrings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			writeCompact(b, x[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCompact(b, e)
		}
		b.WriteByte(']')
	case string:
		writeJSONString(b, x)
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(fmt.Sprint(x))
	default:
		b.WriteString(toString(x))
	}
}

// commit sends the plan and interprets the reply. It returns the new
// next_cfg (or -1) and a map from local to server uuids of inserted rows.
func (cl *client) commit(p *txnPlan) (txnOutcome, int64, map[string]string, error) {
	params := make([]json.RawMessage, 0, len(p.ops)+1)
	params = append(params, json.RawMessage(`"`+cl.db+`"`))
	params = append(params, p.ops...)
	res, err := cl.call("transact", params)
	if err != nil {
		var re *rpcError
		if errorsAs(err, &re) {
			if strings.Contains(string(re.raw), "canceled") {
				return txnTryAgain, -1, nil, nil
			}
			return 0, -1, nil, fatalf("transaction error: %s", sortedErrorJSON(re.raw))
		}
		return 0, -1, nil, err
	}
	var results []json.RawMessage
	if err := json.Unmarshal(res, &results); err != nil {
		return 0, -1, nil, fatalf("transaction error: bad reply")
	}
	for i, r := range results {
		var e struct {
			Error *string `json:"error"`
		}
		if string(r) == "null" {
			if i < len(p.ops) {
				return txnTryAgain, -1, nil, nil
			}
			continue
		}
		if json.Unmarshal(r, &e) == nil && e.Error != nil {
			switch *e.Error {
			case "timed out":
				return txnTryAgain, -1, nil, nil
			case "aborted":
				continue
			}
			return 0, -1, nil, &txnError{msg: sortedErrorJSON(r)}
		}
	}
	real := map[string]string{}
	for i, row := range p.inserts {
		if i < len(results) {
			var u struct {
				UUID []string `json:"uuid"`
			}
			if json.Unmarshal(results[i], &u) == nil && len(u.UUID) == 2 {
				real[row.UUID] = u.UUID[1]
			}
		}
	}
	next := int64(-1)
	if p.nextCfgAt >= 0 && p.nextCfgAt < len(results) {
		var s struct {
			Rows []struct {
				NextCfg int64 `json:"next_cfg"`
			} `json:"rows"`
		}
		if json.Unmarshal(results[p.nextCfgAt], &s) == nil && len(s.Rows) == 1 {
			next = s.Rows[0].NextCfg
		}
	}
	return txnOK, next, real, nil
}

// txnError is a per-operation error in the transact reply.
type txnError struct{ msg string }

func (e *txnError) Error() string { return "transaction error: " + e.msg }

// original returns the value the server sent for col.
func (r *Row) original(col *Column) *Datum {
	if d, ok := r.Data[col.Name]; ok {
		return d
	}
	return DefaultDatum(&col.Type)
}
