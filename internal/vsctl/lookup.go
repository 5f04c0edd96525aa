package vsctl

import (
	"sort"
	"strconv"
	"strings"
)

// rowIDRule names a way to identify a row on the command line: by the value
// of name in table via column col (or directly in the table when via is
// empty), or as "." for the single row.
type rowIDRule struct {
	table string
	name  string // key column; "" means the record is "."
	via   string // column of table that refers to the row
}

var rowIDRules = map[string][]rowIDRule{
	"AutoAttach":                {{table: "Bridge", name: "name", via: "auto_attach"}},
	"Bridge":                    {{table: "Bridge", name: "name"}},
	"Controller":                {{table: "Bridge", name: "name", via: "controller"}},
	"Flow_Sample_Collector_Set": {{table: "Flow_Sample_Collector_Set", name: "id"}},
	"Flow_Table":                {{table: "Flow_Table", name: "name"}},
	"IPFIX":                     {{table: "Bridge", name: "name", via: "ipfix"}},
	"Interface":                 {{table: "Interface", name: "name"}},
	"Manager":                   {{table: "Manager", name: "target"}},
	"Mirror":                    {{table: "Mirror", name: "name"}},
	"NetFlow":                   {{table: "Bridge", name: "name", via: "netflow"}},
	"Open_vSwitch":              {{table: "Open_vSwitch"}},
	"Port":                      {{table: "Port", name: "name"}},
	"QoS":                       {{table: "Port", name: "name", via: "qos"}},
	"SSL":                       {{table: "Open_vSwitch", via: "ssl"}},
	"sFlow":                     {{table: "Bridge", name: "name", via: "sflow"}},
}

func normName(s string) string {
	return strings.ReplaceAll(strings.ToLower(s), "-", "_")
}

// findTable matches a table name case-insensitively, allowing a unique
// prefix.
func (c *ctx) findTable(name string) (*Table, error) {
	var matches []string
	for _, n := range c.schema.Names {
		if strings.EqualFold(n, name) {
			return c.schema.Tables[n], nil
		}
		if len(name) <= len(n) && strings.EqualFold(n[:len(name)], name) {
			matches = append(matches, n)
		}
	}
	switch len(matches) {
	case 0:
		return nil, fatalf("unknown table \"%s\"", name)
	case 1:
		return c.schema.Tables[matches[0]], nil
	}
	return nil, fatalf("\"%s\" matches multiple table names: %s", name, strings.Join(matches, ", "))
}

// findColumn matches a column name ignoring case and '-' vs '_', allowing
// a unique prefix.
func (c *ctx) findColumn(t *Table, name string) (*Column, error) {
	want := normName(name)
	var matches []string
	for _, col := range t.Sorted {
		n := normName(col.Name)
		if n == want {
			return col, nil
		}
		if strings.HasPrefix(n, want) {
			matches = append(matches, col.Name)
		}
	}
	switch len(matches) {
	case 0:
		return nil, fatalf("%s does not contain a column whose name matches \"%s\"", t.Name, name)
	case 1:
		return t.Columns[matches[0]], nil
	}
	sort.Strings(matches)
	return nil, fatalf("%s contains more than one column whose name matches \"%s\": %s", t.Name, name, strings.Join(matches, ", "))
}

func (c *ctx) matchesName(r *Row, col string, id string) bool {
	colp := r.Table.Columns[col]
	d := r.Get(colp)
	if len(d.Keys) != 1 {
		return false
	}
	switch colp.Type.Key.Type {
	case TypeString:
		return d.Keys[0].S == id
	case TypeInteger:
		n, err := strconv.ParseInt(id, 10, 64)
		return err == nil && d.Keys[0].I == n
	}
	return false
}

// getRow finds a record by uuid (or unique uuid prefix) or by the table's
// naming rules. It returns nil, nil when mustExist is false and nothing
// matches.
func (c *ctx) getRow(t *Table, id string, mustExist bool) (*Row, error) {
	var found *Row
	if isUUID(id) {
		found = c.rep.row(t.Name, strings.ToLower(id))
	}
	if found == nil {
		for _, rule := range rowIDRules[t.Name] {
			var cands []*Row
			if rule.name == "" {
				if id == "." {
					cands = c.rep.rows(rule.table)
				}
			} else {
				for _, r := range c.rep.rows(rule.table) {
					if c.matchesName(r, rule.name, id) {
						cands = append(cands, r)
					}
				}
			}
			if len(cands) > 1 && rule.via == "" {
				return nil, fatalf("multiple rows in %s match \"%s\"", t.Name, id)
			}
			if len(cands) == 0 {
				continue
			}
			r := cands[0]
			if rule.via != "" {
				refs := c.refs(r, rule.via)
				if len(refs) != 1 {
					continue
				}
				r = refs[0]
			}
			found = r
			break
		}
	}
	if found == nil && len(id) >= 4 && isHexPrefix(id) {
		for _, r := range c.rep.rows(t.Name) {
			if strings.HasPrefix(r.UUID, strings.ToLower(id)) {
				if found != nil {
					return nil, fatalf("multiple rows in %s match \"%s\"", t.Name, id)
				}
				found = r
			}
		}
	}
	if found == nil && mustExist {
		return nil, fatalf("no row \"%s\" in table %s", id, t.Name)
	}
	return found, nil
}

func isHexPrefix(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) && !(c >= 'a' && c <= 'f') && !(c >= 'A' && c <= 'F') && c != '-' {
			return false
		}
	}
	return true
}
