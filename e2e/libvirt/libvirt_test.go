//go:build linux

package libvirt

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/testutil"
)

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// env is what every mode shares: binaries, the guest image, the private
// libvirtd state.
type env struct {
	dir   string
	sfx   string // random suffix of names (domains, networks, bridges)
	img   guestImage
	lv    *libvirtd
	build string // built gvswitch commands
}

func randSuffix() string {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func setup(t *testing.T) *env {
	t.Helper()
	testutil.RequireRoot(t)
	for _, b := range []string{"libvirtd", "virsh", "qemu-system-x86_64", "ip", "mount"} {
		testutil.RequireBinary(t, b)
	}
	_, err := os.Stat("/dev/net/tun")
	testutil.Require(t, err == nil, "/dev/net/tun: %v", err)
	dir, err := os.MkdirTemp("", "gvs-lv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() || os.Getenv("GVS_LIBVIRT_KEEP") == "" {
			_ = os.RemoveAll(dir)
		} else {
			t.Logf("state kept in %s", dir)
		}
	})
	e := &env{dir: dir, sfx: randSuffix()}
	e.img = newGuestImage(t, dir)
	e.lv = newLibvirtd(t, filepath.Join(dir, "lv"))
	t.Cleanup(func() {
		e.lv.cleanup(t)
		if t.Failed() {
			t.Logf("libvirtd log (tail):\n%s\nlibvirtd stderr (tail):\n%s", tailFile(e.lv.log, 60), tailFile(e.lv.stderr, 20))
		}
	})
	return e
}

// goBuild builds ./cmd/NAME of this module into e.build.
func (e *env) goBuild(name string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	if e.build == "" {
		e.build = filepath.Join(e.dir, "bin")
	}
	out := filepath.Join(e.build, name)
	cmd := exec.Command(goBin, "build", "-o", out, "./cmd/"+name)
	cmd.Dir = "../.."
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/%s: %w\n%s", name, err, b)
	}
	return out, nil
}

func ipLink(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", append([]string{"link"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ip link %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// mac returns a locally administered unicast MAC unique to this run.
func (e *env) mac(mode, n int) string {
	return fmt.Sprintf("52:54:%s:%s:%02x:%02x", e.sfx[:2], e.sfx[2:], mode, n)
}

func TestLibvirt(t *testing.T) {
	e := setup(t)
	t.Run("linux-bridge", func(t *testing.T) { e.linuxBridge(t) })
}

// linuxBridge is the baseline: libvirt + Linux bridge, no Open vSwitch. It
// proves the guests, consoles and the private libvirtd work.
func (e *env) linuxBridge(t *testing.T) {
	br := "gvslb" + e.sfx
	ipLink(t, "add", br, "type", "bridge")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", br).Run() })
	ipLink(t, "set", br, "up")
	e.lv.start(t, defaultPath)
	t.Cleanup(func() { e.lv.cleanup(t) })
	dir := filepath.Join(e.dir, "linux-bridge")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	gs := startGuests(t, e.lv, e.img, dir, "gvs"+e.sfx+"-lb", []guestSpec{
		{role: "a", ips: []string{"10.0.0.1/24"}, pings: []string{"10.0.0.2"}, nics: []string{bridgeNIC(br, e.mac(0, 1), false)}},
		{role: "b", ips: []string{"10.0.0.2/24"}, pings: []string{"10.0.0.1"}, nics: []string{bridgeNIC(br, e.mac(0, 2), false)}},
	})
	gs["a"].waitReach(t, "10.0.0.2", 0, 60*time.Second)
	gs["b"].waitReach(t, "10.0.0.1", 0, 60*time.Second)
}
