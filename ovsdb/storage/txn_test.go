package storage

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const (
	uuidOVS = "0401ce54-b1e6-4441-a78e-7c79f3cca6ba"
	uuidBr  = "a0cf406b-2d12-45e0-b164-abe93d5505d8"
)

func TestTxnAppendJSON(t *testing.T) {
	txn := &Txn{
		Tables: map[string]map[string]json.RawMessage{
			"Open_vSwitch": {uuidOVS: json.RawMessage(`{ "bridges" : ["uuid", "` + uuidBr + `"] }`)},
			"Bridge": {
				uuidBr:                                 json.RawMessage(`{"name":"br<0>&","external_ids":["map",[["k","v\u003c"]]]}`),
				"ffffffff-0000-0000-0000-000000000000": nil,
				"eeeeeeee-0000-0000-0000-000000000000": json.RawMessage(`null`),
			},
		},
		Date:    time.UnixMilli(1795630685958),
		Comment: "ovs-vsctl: add-br <br0>\nsecond line",
		IsDiff:  true,
	}
	got, err := txn.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"_date":1795630685958,"_comment":"ovs-vsctl: add-br <br0>\nsecond line","_is_diff":true,` +
		`"Bridge":{"` + uuidBr + `":{"name":"br<0>&","external_ids":["map",[["k","v<"]]]},` +
		`"eeeeeeee-0000-0000-0000-000000000000":null,"ffffffff-0000-0000-0000-000000000000":null},` +
		`"Open_vSwitch":{"` + uuidOVS + `":{"bridges":["uuid","` + uuidBr + `"]}}}`
	if string(got) != want {
		t.Fatalf("AppendJSON =\n%s\nwant\n%s", got, want)
	}

	back, err := ParseTxn(got)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Date.Equal(txn.Date) || back.Comment != txn.Comment || !back.IsDiff {
		t.Errorf("ParseTxn meta = %v %q %v", back.Date, back.Comment, back.IsDiff)
	}
	if len(back.Tables) != 2 || len(back.Tables["Bridge"]) != 3 {
		t.Fatalf("ParseTxn tables = %v", back.Tables)
	}
	if back.Tables["Bridge"]["eeeeeeee-0000-0000-0000-000000000000"] != nil {
		t.Errorf("deleted row not nil")
	}
	if string(back.Tables["Bridge"][uuidBr]) != `{"name":"br<0>&","external_ids":["map",[["k","v<"]]]}` {
		t.Errorf("row = %s", back.Tables["Bridge"][uuidBr])
	}
	again, err := back.AppendJSON(nil)
	if err != nil || string(again) != want {
		t.Errorf("re-encoded = %s, %v", again, err)
	}
}

func TestTxnAppendJSONErrors(t *testing.T) {
	tests := []struct {
		name string
		txn  Txn
	}{
		{"reserved table", Txn{Tables: map[string]map[string]json.RawMessage{"_date": {}}}},
		{"empty table", Txn{Tables: map[string]map[string]json.RawMessage{"": {}}}},
		{"bad uuid", Txn{Tables: map[string]map[string]json.RawMessage{"T": {"x": nil}}}},
		{"row array", Txn{Tables: map[string]map[string]json.RawMessage{"T": {uuidBr: json.RawMessage(`[1]`)}}}},
		{"row invalid", Txn{Tables: map[string]map[string]json.RawMessage{"T": {uuidBr: json.RawMessage(`{"a":`)}}}},
		{"nul in value", Txn{Tables: map[string]map[string]json.RawMessage{"T": {uuidBr: json.RawMessage(`{"a":"\u0000"}`)}}}},
		{"bad comment", Txn{Comment: "\xff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.txn.AppendJSON([]byte("keep"))
			if err == nil || string(got) != "keep" || !strings.HasPrefix(err.Error(), "encode transaction record") {
				t.Fatalf("AppendJSON = %q, %v; want error and dst unchanged", got, err)
			}
		})
	}
}

func TestParseTxn(t *testing.T) {
	tests := []struct {
		name string
		in   string
		date time.Time
		err  bool
	}{
		{name: "millis", in: `{"_date":1795630685958}`, date: time.UnixMilli(1795630685958)},
		{name: "old seconds", in: `{"_date":1300000000}`, date: time.Unix(1300000000, 0)},
		{name: "real", in: `{"_date":1795630685958.0}`, date: time.UnixMilli(1795630685958)},
		{name: "no date", in: `{"T":{}}`},
		{name: "date string", in: `{"_date":"x"}`, err: true},
		{name: "date huge", in: `{"_date":1e300}`, err: true},
		{name: "comment number", in: `{"_comment":1}`, err: true},
		{name: "is_diff string", in: `{"_is_diff":"yes"}`, err: true},
		{name: "rows array", in: `{"T":[]}`, err: true},
		{name: "row number", in: `{"T":{"` + uuidBr + `":1}}`, err: true},
		{name: "key not uuid", in: `{"T":{"br0":{}}}`, err: true},
		{name: "not object", in: `[]`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			txn, err := ParseTxn([]byte(tt.in))
			if tt.err {
				if err == nil {
					t.Fatalf("ParseTxn(%s) = %+v, want error", tt.in, txn)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !txn.Date.Equal(tt.date) {
				t.Errorf("date = %v, want %v", txn.Date, tt.date)
			}
		})
	}
}
