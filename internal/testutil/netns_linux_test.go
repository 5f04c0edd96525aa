package testutil_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/gvswitch/gvswitch/internal/testutil"
)

func TestNetNS(t *testing.T) {
	ns := testutil.NewNetNS(t)
	out := ns.Run(t, "ip", "-o", "link", "show")
	if !strings.Contains(out, "lo:") || strings.Count(out, "\n") != 1 {
		t.Fatalf("new namespace links:\n%s", out)
	}
	if !strings.Contains(out, "UP") {
		t.Fatalf("loopback not up:\n%s", out)
	}
	// Go code inside the namespace sees the namespace's links only.
	var n int
	err := ns.Do(func() error {
		ifs, err := net.Interfaces()
		n = len(ifs)
		return err
	})
	if err != nil || n != 1 {
		t.Fatalf("interfaces seen inside Do: %d, %v", n, err)
	}
	h, err := ns.Handle()
	if err != nil {
		t.Fatal(err)
	}
	links, err := h.LinkList()
	h.Close()
	if err != nil || len(links) != 1 {
		t.Fatalf("links in namespace: %v %v", links, err)
	}
	if _, _, err := ns.Exec(context.Background(), "false"); err == nil {
		t.Fatal("Exec(false) returned no error")
	}
}

func TestNetNSCleanup(t *testing.T) {
	var path string
	t.Run("inner", func(t *testing.T) {
		path = testutil.NewNetNS(t).Path
		if _, err := os.Stat(path); err != nil {
			t.Fatal(err)
		}
	})
	if path == "" {
		t.Skip("inner test skipped")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("namespace %s still exists after its test ended: %v", path, err)
	}
}

func TestDoPanics(t *testing.T) {
	ns := testutil.NewNetNS(t)
	defer func() {
		if r := recover(); r != "inside" {
			t.Fatalf("recovered %v, want the panic from inside Do", r)
		}
	}()
	_ = ns.Do(func() error { panic("inside") })
}
