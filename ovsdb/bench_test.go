package ovsdb

import (
	"fmt"
	"strings"
	"testing"
)

func portsTxn(n int, tag string) []any {
	var sb strings.Builder
	sb.WriteString(`[`)
	var ports []string
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, `{"op":"insert","table":"Interface","uuid-name":"i%d","row":{"name":"%s%d","type":"internal","external_ids":["map",[["iface-id","x%d"]]]}},`, i, tag, i, i)
		fmt.Fprintf(&sb, `{"op":"insert","table":"Port","uuid-name":"p%d","row":{"name":"%s%d","interfaces":["named-uuid","i%d"],"tag":%d}},`, i, tag, i, i, i%4000)
		ports = append(ports, fmt.Sprintf(`["named-uuid","p%d"]`, i))
	}
	fmt.Fprintf(&sb, `{"op":"mutate","table":"Bridge","where":[["name","==","br0"]],"mutations":[["ports","insert",["set",[%s]]]]}]`, strings.Join(ports, ","))
	v, err := ParseJSON([]byte(sb.String()))
	if err != nil {
		panic(err)
	}
	return v.([]any)
}

// BenchmarkTransact1000Ports measures executing and committing one
// transaction that adds 1000 ports (in memory, JSON already parsed).
func BenchmarkTransact1000Ports(b *testing.B) {
	db := fuzzDB(b)
	reset, _ := ParseJSON([]byte(`[{"op":"update","table":"Bridge","where":[["name","==","br0"]],"row":{"ports":["set",[]]}}]`))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ops := portsTxn(1000, fmt.Sprintf("t%dp", i))
		b.StartTimer()
		if res := db.Transact(ops, TxnOptions{}); res.Err != nil {
			b.Fatal(res.Err)
		}
		b.StopTimer()
		db.Transact(reset.([]any), TxnOptions{})
		b.StartTimer()
	}
}

// BenchmarkTransactSingle measures a one-row mutate with a _uuid where
// clause, the shape of most ovs-vsctl and vswitchd transactions.
func BenchmarkTransactSingle(b *testing.B) {
	db := fuzzDB(b)
	ops, _ := ParseJSON([]byte(`[{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]},{"op":"select","table":"Open_vSwitch","where":[],"columns":["next_cfg"]}]`))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if res := db.Transact(ops.([]any), TxnOptions{}); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
}

// BenchmarkParseJSON1000Ports measures decoding the params of a 1000-port
// transaction (the step before Transact).
func BenchmarkParseJSON1000Ports(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`["Open_vSwitch",`)
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&sb, `{"op":"insert","table":"Interface","uuid-name":"i%d","row":{"name":"t%d","type":"internal","external_ids":["map",[["iface-id","x%d"]]]}},`, i, i, i)
		fmt.Fprintf(&sb, `{"op":"insert","table":"Port","uuid-name":"p%d","row":{"name":"t%d","interfaces":["named-uuid","i%d"],"tag":%d}},`, i, i, i, i)
	}
	sb.WriteString(`{"op":"comment","comment":"x"}]`)
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}
