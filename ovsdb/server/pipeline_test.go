package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/ovsdb/server"
	"github.com/gvswitch/gvswitch/ovsdb/storage"
)

// TestPipelinedDurableReplies: a client that sends durable transactions
// and other requests ahead of their replies, in one write, gets every reply
// in request order, and every acknowledged commit is in the file.
func TestPipelinedDurableReplies(t *testing.T) {
	db := t.TempDir() + "/conf.db"
	sockPath := shortSock(t)
	s, err := server.New(server.Options{DBPath: db, Remotes: []string{"punix:" + sockPath}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sock := "unix:" + sockPath
	ovsVsctl(t, sock, "--no-wait", "init")
	rc := dialRaw(t, sock)
	const n = 40
	var batch strings.Builder
	var want []string
	for i := range n {
		switch i % 10 {
		case 4: // a request of another method between the transactions
			fmt.Fprintf(&batch, `{"id":%d,"method":"echo","params":["e%d"]}`, i, i)
			want = append(want, fmt.Sprintf(`{"id":%d,"result":["e%d"],"error":null}`, i, i))
		case 7: // a non-durable commit
			fmt.Fprintf(&batch, `{"id":%d,"method":"transact","params":["Open_vSwitch",{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["external_ids","insert",["map",[["k%d","v"]]]]]}]}`, i, i)
			want = append(want, fmt.Sprintf(`{"id":%d,"result":[{"count":1}],"error":null}`, i))
		case 9: // an error
			fmt.Fprintf(&batch, `{"id":%d,"method":"transact","params":["nosuchdb"]}`, i)
			want = append(want, fmt.Sprintf(`{"id":%d,"result":null,"error":`, i))
		default:
			batch.WriteString(durableReq(i, i))
			want = append(want, fmt.Sprintf(`{"id":%d,"result":[{"count":1},{}],"error":null}`, i))
		}
	}
	rc.send(batch.String())
	for i := range n {
		m := rc.next(10 * time.Second)
		if !strings.HasPrefix(m, want[i]) {
			t.Fatalf("reply %d: %s, want %s...", i, m, want[i])
		}
	}
	s.Close()
	_, recs, err := storage.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, r := range recs {
		all.Write(r)
	}
	for i := range n {
		if i%10 == 4 || i%10 == 9 {
			continue
		}
		key := fmt.Sprintf(`"k%d"`, i)
		if !strings.Contains(all.String(), key) {
			t.Errorf("commit %d (%s) not in the file", i, key)
		}
	}
}
