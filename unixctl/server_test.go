package unixctl

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/testutil"
)

func newTestServer(t *testing.T) *Server {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.ctl")
	s, err := NewServer(path, VersionString("ovs-vswitchd"))
	if err != nil {
		t.Fatal(err)
	}
	s.Register("echo", "[ARG...]", 0, 2, func(args []string) (string, error) {
		return strings.Join(args, " "), nil
	})
	s.Register("fail", "", 0, 0, func([]string) (string, error) { return "", errors.New("no such bridge") })
	s.RegisterCoverage(NewCoverage())
	s.RegisterMemory()
	s.Start()
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestServerReplies(t *testing.T) {
	s := newTestServer(t)
	c, err := Dial(s.Path(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tests := []struct {
		name, cmd string
		args      []string
		want      string
		wantErr   string
	}{
		{"version", "version", nil, "ovs-vswitchd (Open vSwitch) 3.1.0\n", ""},
		{"echo adds newline", "echo", []string{"a", "b"}, "a b\n", ""},
		{"empty stays empty", "echo", nil, "", ""},
		{"unknown", "nope", nil, "", "\"nope\" is not a valid command (use \"list-commands\" to see a list of valid commands)\n"},
		{"too many", "echo", []string{"1", "2", "3"}, "", "\"echo\" command takes at most 2 arguments\n"},
		{"too few", "fail", []string{"x"}, "", "\"fail\" command takes at most 0 arguments\n"},
		{"error", "fail", nil, "", "no such bridge\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Call(tt.cmd, tt.args)
			if tt.wantErr != "" {
				var re *ReplyError
				if !errors.As(err, &re) || re.Text != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	got, err := c.Call("list-commands", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "The available commands are:\n" +
		"  coverage/show           \n" +
		"  echo                    [ARG...]\n" +
		"  fail                    \n" +
		"  list-commands           \n" +
		"  memory/show             \n" +
		"  version                 \n"
	if got != want {
		t.Fatalf("list-commands:\n%q\nwant\n%q", got, want)
	}
	if out, _ := c.Call("coverage/show", nil); !strings.HasPrefix(out, "Event coverage, avg rate over last: 5 seconds, last minute, last hour,  hash=") {
		t.Fatalf("coverage/show = %q", out)
	}
}

// TestOVSAppctl drives the server with Debian's ovs-appctl.
func TestOVSAppctl(t *testing.T) {
	appctl := testutil.RequireBinary(t, "ovs-appctl")
	s := newTestServer(t)
	out, err := exec.Command(appctl, "-t", s.Path(), "version").Output()
	if err != nil || string(out) != "ovs-vswitchd (Open vSwitch) 3.1.0\n" {
		t.Fatalf("version: %q %v", out, err)
	}
	cmd := exec.Command(appctl, "-t", s.Path(), "fail")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("fail: exit %v", err)
	}
	want := "no such bridge\novs-appctl: " + s.Path() + ": server returned an error\n"
	if stderr.String() != want {
		t.Fatalf("stderr %q want %q", stderr.String(), want)
	}
}

// TestExitRepliesBeforeClose: a handler that closes the server (like "exit")
// still gets its reply to the client.
func TestExitRepliesBeforeClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.ctl")
	s, err := NewServer(path, "x")
	if err != nil {
		t.Fatal(err)
	}
	s.Register("exit", "", 0, 0, func([]string) (string, error) {
		go func() { _ = s.Close() }()
		return "bye", nil
	})
	s.Start()
	defer s.Close()
	c, err := Dial(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := c.Call("exit", nil); err != nil || got != "bye\n" {
		t.Fatalf("exit reply %q, %v", got, err)
	}
}
