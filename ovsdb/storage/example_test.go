package storage_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gvswitch/gvswitch/ovsdb/storage"
)

func Example() {
	dir, _ := os.MkdirTemp("", "storage-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "conf.db")
	schema := json.RawMessage(`{"name":"Test","version":"1.0.0","tables":{"T":{"columns":{"name":{"type":"string"}}}}}`)

	// Create the file, append a transaction and make it durable.
	l, err := storage.Create(path, schema, storage.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = l.AppendTxn(&storage.Txn{
		Tables: map[string]map[string]json.RawMessage{
			"T": {"0401ce54-b1e6-4441-a78e-7c79f3cca6ba": json.RawMessage(`{"name":"<a&b>"}`)},
		},
		Date:    time.UnixMilli(1700000000000),
		Comment: "example",
		IsDiff:  true,
	})
	if err == nil {
		err = l.Commit()
	}
	if err == nil {
		err = l.Close()
	}
	if err != nil {
		fmt.Println(err)
		return
	}

	// Open it again (taking the lock) and replay the records.
	l, err = storage.Open(path, storage.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()
	for _, rec := range l.Records() {
		fmt.Printf("%s\n", rec)
		txn, err := storage.ParseTxn(rec)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(txn.Comment, txn.Date.UTC().Format(time.RFC3339), len(txn.Tables["T"]))
	}
	// Output:
	// {"_date":1700000000000,"_comment":"example","_is_diff":true,"T":{"0401ce54-b1e6-4441-a78e-7c79f3cca6ba":{"name":"<a&b>"}}}
	// example 2023-11-14T22:13:20Z 1
}
