package vsctl

import (
	"bytes"
	"strings"
)

// showTable describes how "show" prints one table: the column naming a
// row and the columns printed under it, in order.
type showTable struct {
	nameCol string
	cols    []string
}

var showTables = map[string]showTable{
	"Open_vSwitch": {cols: []string{"manager_options", "bridges", "ovs_version"}},
	"Bridge":       {nameCol: "name", cols: []string{"controller", "fail_mode", "datapath_type", "ports"}},
	"Port":         {nameCol: "name", cols: []string{"tag", "trunks", "interfaces"}},
	"Interface":    {nameCol: "name", cols: []string{"type", "options", "error"}},
	"Controller":   {nameCol: "target", cols: []string{"is_connected"}},
	"Manager":      {nameCol: "target", cols: []string{"is_connected"}},
}

func cmdShow(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	for _, r := range c.rep.rows("Open_vSwitch") {
		c.showRow(out, r, 0)
	}
	return nil
}

func (c *ctx) showRow(out *bytes.Buffer, r *Row, level int) {
	st := showTables[r.Table.Name]
	indent := strings.Repeat(" ", level*4)
	if st.nameCol == "" {
		out.WriteString(indent + r.UUID + "\n")
	} else {
		col := r.Table.Columns[st.nameCol]
		out.WriteString(indent + r.Table.Name + " " + r.Get(col).String(&col.Type) + "\n")
	}
	for _, name := range st.cols {
		col := r.Table.Columns[name]
		if col == nil {
			continue
		}
		d := r.Get(col)
		if ref := col.Type.Key.RefTable; ref != "" && !col.Type.IsMap() {
			if _, ok := showTables[ref]; ok {
				for _, k := range d.Keys {
					if sub := c.rep.row(ref, k.S); sub != nil {
						c.showRow(out, sub, level+1)
					}
				}
				continue
			}
		}
		if d.IsDefault(&col.Type) {
			continue
		}
		out.WriteString(strings.Repeat(" ", (level+1)*4) + name + ": " + d.String(&col.Type) + "\n")
	}
}
