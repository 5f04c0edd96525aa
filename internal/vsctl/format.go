package vsctl

import (
	"bytes"
	"strings"
)

// renderRows prints rows of a table in the selected --format and --data.
func (c *ctx) renderRows(out *bytes.Buffer, cols []*Column, rows []*Row) {
	o := c.opts
	cell := func(r *Row, col *Column) string {
		d := r.Get(col)
		switch {
		case o.format == "json" || o.data == "json":
			return d.JSON(&col.Type)
		case o.data == "bare":
			return d.Bare(&col.Type)
		}
		return d.String(&col.Type)
	}
	cells := make([][]string, len(rows))
	for i, r := range rows {
		cells[i] = make([]string, len(cols))
		for j, col := range cols {
			cells[i][j] = cell(r, col)
		}
	}
	headings := make([]string, len(cols))
	for j, col := range cols {
		headings[j] = col.Name
	}
	switch o.format {
	case "list":
		renderList(out, headings, cells, o.noHeadings)
	case "table":
		renderTable(out, headings, cells, o.noHeadings, o.maxWidth)
	case "csv":
		renderCSV(out, headings, cells, o.noHeadings)
	case "html":
		for j, col := range cols {
			if col.Name == "_uuid" {
				for i := range cells {
					cells[i][j] = "\x00" + cells[i][j]
				}
			}
		}
		renderHTML(out, headings, cells, o.noHeadings)
	case "json":
		renderJSON(out, headings, cells, o.pretty)
	}
}

func renderList(out *bytes.Buffer, headings []string, cells [][]string, noHeadings bool) {
	for i, row := range cells {
		if i > 0 {
			out.WriteByte('\n')
		}
		for j, v := range row {
			if !noHeadings {
				h := headings[j]
				out.WriteString(h)
				for k := len(h); k < 20; k++ {
					out.WriteByte(' ')
				}
				out.WriteString(": ")
			}
			out.WriteString(v)
			out.WriteByte('\n')
		}
	}
}

func renderTable(out *bytes.Buffer, headings []string, cells [][]string, noHeadings bool, maxWidth int) {
	widths := make([]int, len(headings))
	for _, row := range cells {
		for j, v := range row {
			n := len(v)
			if maxWidth > 0 && n > maxWidth {
				n = maxWidth
			}
			if n > widths[j] {
				widths[j] = n
			}
		}
	}
	if !noHeadings {
		for j, h := range headings {
			widths[j] = max(widths[j], len(h))
		}
	}
	if maxWidth > 0 {
		for _, row := range cells {
			for j, v := range row {
				if len(v) > widths[j] {
					row[j] = v[:widths[j]]
				}
			}
		}
	}
	line := func(vals []string) {
		var l bytes.Buffer
		for j, v := range vals {
			if j > 0 {
				l.WriteByte(' ')
			}
			l.WriteString(v)
			for k := len(v); k < widths[j]; k++ {
				l.WriteByte(' ')
			}
		}
		out.Write(bytes.TrimRight(l.Bytes(), " "))
		out.WriteByte('\n')
	}
	if !noHeadings {
		line(headings)
		dashes := make([]string, len(headings))
		for j := range headings {
			dashes[j] = strings.Repeat("-", widths[j])
		}
		line(dashes)
	}
	for _, row := range cells {
		line(row)
	}
}

func csvQuote(s string) string {
	if strings.ContainsAny(s, "\",\n\r") || strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

func renderCSV(out *bytes.Buffer, headings []string, cells [][]string, noHeadings bool) {
	line := func(vals []string) {
		for j, v := range vals {
			if j > 0 {
				out.WriteByte(',')
			}
			out.WriteString(csvQuote(v))
		}
		out.WriteString("\n")
	}
	if !noHeadings {
		line(headings)
	}
	for _, row := range cells {
		line(row)
	}
}

func htmlEscape(s string, linkUUIDs bool) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if linkUUIDs && i+36 <= len(s) && isUUID(s[i:i+36]) {
			u := s[i : i+36]
			b.WriteString(`<a href="#` + u + `">` + u[:8] + `</a>`)
			i += 36
			continue
		}
		switch s[i] {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteByte(s[i])
		}
		i++
	}
	return b.String()
}

func renderHTML(out *bytes.Buffer, headings []string, cells [][]string, noHeadings bool) {
	out.WriteString("<table border=1>\n")
	if !noHeadings {
		out.WriteString("  <tr>\n")
		for _, h := range headings {
			out.WriteString("    <th>" + htmlEscape(h, false) + "</th>\n")
		}
		out.WriteString("  </tr>\n")
	}
	for _, row := range cells {
		out.WriteString("  <tr>\n")
		for _, v := range row {
			if strings.HasPrefix(v, "\x00") {
				v = v[1:]
				out.WriteString("    <td><a name=\"" + htmlEscape(v, false) + "\">" + htmlEscape(v[:min(8, len(v))], false) + "</a></td>\n")
				continue
			}
			out.WriteString("    <td>" + htmlEscape(v, true) + "</td>\n")
		}
		out.WriteString("  </tr>\n")
	}
	out.WriteString("</table>\n")
}

func renderJSON(out *bytes.Buffer, headings []string, cells [][]string, pretty bool) {
	var b bytes.Buffer
	b.WriteString(`{"data":[`)
	for i, row := range cells {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		for j, v := range row {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(v)
		}
		b.WriteByte(']')
	}
	b.WriteString(`],"headings":[`)
	for j, h := range headings {
		if j > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, h)
	}
	b.WriteString("]}")
	if !pretty {
		out.Write(b.Bytes())
		out.WriteByte('\n')
		return
	}
	v, err := decodeJSON(b.Bytes())
	if err != nil {
		out.Write(b.Bytes())
		out.WriteByte('\n')
		return
	}
	writePretty(out, v, 0)
	out.WriteByte('\n')
}

// writePretty prints JSON the way OVS pretty-prints: each member or element
// on its own line, indented by two spaces per level, and the closing bracket
// right after the last element.
func writePretty(out *bytes.Buffer, v any, indent int) {
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			out.WriteString("[]")
			return
		}
		out.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				out.WriteByte(',')
			}
			out.WriteByte('\n')
			out.WriteString(strings.Repeat(" ", indent+2))
			writePretty(out, e, indent+2)
		}
		out.WriteByte(']')
	case map[string]any:
		if len(x) == 0 {
			out.WriteString("{}")
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sortStrings(keys)
		out.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				out.WriteByte(',')
			}
			out.WriteByte('\n')
			out.WriteString(strings.Repeat(" ", indent+2))
			writeJSONString(out, k)
			out.WriteString(": ")
			writePretty(out, x[k], indent+2)
		}
		out.WriteByte('}')
	case string:
		writeJSONString(out, x)
	case nil:
		out.WriteString("null")
	case bool:
		if x {
			out.WriteString("true")
		} else {
			out.WriteString("false")
		}
	default:
		out.WriteString(toString(x))
	}
}
