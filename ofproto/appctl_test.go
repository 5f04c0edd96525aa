package ofproto

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/unixctl"
)

func TestAppctlCommands(t *testing.T) {
	ts := startSwitch(t, "p1")
	vsctl(t, ts.remote, "add-br", "br0", "--", "add-port", "br0", "p1",
		"--", "add-port", "br0", "pa", "--", "set", "Interface", "pa", "type=patch", "options:peer=pb",
		"--", "add-br", "br1", "--", "add-port", "br1", "pb", "--", "set", "Interface", "pb", "type=patch", "options:peer=pa")
	s, err := unixctl.NewServer(filepath.Join(t.TempDir(), "v.ctl"), unixctl.VersionString("ovs-vswitchd"))
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	ts.v.RegisterCommands(s, func() { close(exited) })
	s.Start()
	defer s.Close()
	c, err := unixctl.Dial(s.Path(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tests := []struct {
		cmd     string
		args    []string
		want    string
		wantErr string
	}{
		{"ofproto/list", nil, "br0\nbr1\n", ""},
		{"dpif/show", nil, "netdev@ovs-netdev: hit:0 missed:0\n" +
			"  br0:\n" +
			"    br0 65534/1: (tap)\n" +
			"    p1 1/2: (system)\n" +
			"    pa 2/none: (patch: peer=pb)\n" +
			"  br1:\n" +
			"    br1 65534/3: (tap)\n" +
			"    pb 1/none: (patch: peer=pa)\n", ""},
		{"fdb/show", []string{"nope"}, "", "no such bridge\n"},
		{"fdb/flush", []string{"nope"}, "", "no such bridge\n"},
		{"fdb/flush", nil, "table successfully flushed\n", ""},
		{"fdb/show", []string{"br0"}, " port  VLAN  MAC                Age\n", ""},
		{"ofproto/trace", []string{"nope", "in_port=1"}, "", "no such bridge\n"},
		{"dpif/dump-dps", nil, "netdev@ovs-netdev\n", ""},
	}
	for _, tt := range tests {
		got, err := c.Call(tt.cmd, tt.args)
		var re *unixctl.ReplyError
		switch {
		case tt.wantErr != "":
			if !errors.As(err, &re) || re.Text != tt.wantErr {
				t.Errorf("%s %v: err %v, want %q", tt.cmd, tt.args, err, tt.wantErr)
			}
		case err != nil || got != tt.want:
			t.Errorf("%s %v:\n%q, %v\nwant\n%q", tt.cmd, tt.args, got, err, tt.want)
		}
	}
	if _, err := c.Call("exit", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("exit did not call back")
	}
}
