//go:build linux

package libvirt

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/gvswitch/gvswitch/internal/testutil"
)

// guestModules are the modules the guest loads, roots only: their
// dependencies come from modules.dep, in load order. Modules built into the
// kernel are left out.
var guestModules = []string{"virtio_pci", "virtio_net", "8021q"}

// guestKernel is a kernel image and the modules directory that matches it.
type guestKernel struct {
	Image   string // /boot/vmlinuz-VERSION
	Version string
	Modules string // /lib/modules/VERSION
}

// findGuestKernel picks the newest /boot/vmlinuz-*-cloud-amd64 (Debian's
// small kernel for VMs) whose modules are installed, or any other kernel with
// modules when there is no cloud kernel.
func findGuestKernel() (guestKernel, error) {
	for _, pattern := range []string{"/boot/vmlinuz-*-cloud-amd64", "/boot/vmlinuz-*"} {
		images, _ := filepath.Glob(pattern)
		sort.Sort(sort.Reverse(sort.StringSlice(images)))
		for _, img := range images {
			ver := strings.TrimPrefix(filepath.Base(img), "vmlinuz-")
			mods := filepath.Join("/lib/modules", ver)
			if _, err := os.Stat(filepath.Join(mods, "modules.dep")); err != nil {
				continue
			}
			if f, err := os.Open(img); err == nil {
				f.Close()
				return guestKernel{Image: img, Version: ver, Modules: mods}, nil
			}
		}
	}
	return guestKernel{}, fmt.Errorf("no readable /boot/vmlinuz-* with /lib/modules/<version>/modules.dep (install linux-image-cloud-amd64)")
}

// modName normalizes a module file or module name to its module name.
func modName(s string) string {
	s = filepath.Base(s)
	if i := strings.Index(s, ".ko"); i >= 0 {
		s = s[:i]
	}
	return strings.ReplaceAll(s, "-", "_")
}

// moduleOrder resolves roots to module files in load order (dependencies
// first), from modules.dep. Built-in modules (modules.builtin) are skipped.
func moduleOrder(k guestKernel, roots []string) ([]string, error) {
	dep, err := os.ReadFile(filepath.Join(k.Modules, "modules.dep"))
	if err != nil {
		return nil, err
	}
	files := map[string]string{}
	deps := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(dep))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		file, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		name := modName(file)
		files[name] = file
		for _, d := range strings.Fields(rest) {
			deps[name] = append(deps[name], modName(d))
		}
	}
	builtin := map[string]bool{}
	if b, err := os.ReadFile(filepath.Join(k.Modules, "modules.builtin")); err == nil {
		for _, l := range strings.Fields(string(b)) {
			builtin[modName(l)] = true
		}
	}
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(string) error
	visit = func(name string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("module dependency cycle at %s", name)
		case 2:
			return nil
		}
		if _, ok := files[name]; !ok {
			if builtin[name] {
				state[name] = 2
				return nil
			}
			return fmt.Errorf("module %s not in %s/modules.dep", name, k.Modules)
		}
		state[name] = 1
		for _, d := range deps[name] {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, files[name])
		return nil
	}
	for _, r := range roots {
		if err := visit(modName(r)); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// readModule returns a module's ELF bytes, decompressing .ko.xz/.ko.zst/.ko.gz
// with the system tools: busybox insmod inside the guest wants plain ELF.
func readModule(path string) ([]byte, error) {
	var tool string
	switch {
	case strings.HasSuffix(path, ".ko"):
		return os.ReadFile(path)
	case strings.HasSuffix(path, ".xz"):
		tool = "xz"
	case strings.HasSuffix(path, ".zst"):
		tool = "zstd"
	case strings.HasSuffix(path, ".gz"):
		tool = "gzip"
	default:
		return nil, fmt.Errorf("unknown module format %s", path)
	}
	out, err := exec.Command(tool, "-dc", path).Output()
	if err != nil {
		return nil, fmt.Errorf("decompress %s: %w", path, err)
	}
	return out, nil
}

// guestInit is the guest's /init. Kernel command line:
//
//	gvs.ip=A/N[,A/N...]         addresses on eth0 (none: eth0 only comes up)
//	gvs.vlan=VID:A/N[,VID:A/N]  VLAN sub-interfaces eth0.VID with an address
//	gvs.ping=IP[,IP...]         targets, pinged once per round, forever
//
// eth0 may appear late (hot-plug) and may be replaced (unplug and plug):
// every round it is configured again when its ifindex changed. Results go to
// the console as "GVS PING <ip> OK|FAIL".
const guestInit = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
for m in $(cat /etc/modules); do
	insmod "/lib/modules/$m" || echo "GVS INSMOD $m FAIL"
done
ips=""; vlans=""; pings=""
for a in $(cat /proc/cmdline); do
	case "$a" in
	gvs.ip=*) ips=$(echo "${a#gvs.ip=}" | tr , ' ') ;;
	gvs.vlan=*) vlans=$(echo "${a#gvs.vlan=}" | tr , ' ') ;;
	gvs.ping=*) pings=$(echo "${a#gvs.ping=}" | tr , ' ') ;;
	esac
done
ip link set lo up
echo "GVS BOOTED"
configured=""
while true; do
	if [ -e /sys/class/net/eth0/ifindex ]; then
		idx=$(cat /sys/class/net/eth0/ifindex)
		if [ "$idx" != "$configured" ]; then
			ip link set eth0 up
			for a in $ips; do ip addr add "$a" dev eth0; done
			for v in $vlans; do
				id=${v%%:*}
				ip link add link eth0 name "eth0.$id" type vlan id "$id"
				ip addr add "${v#*:}" dev "eth0.$id"
				ip link set "eth0.$id" up
			done
			configured=$idx
			echo "GVS NET eth0 $idx $(cat /sys/class/net/eth0/address)"
		fi
	fi
	for p in $pings; do
		if ping -c 1 -W 1 "$p" >/dev/null 2>&1; then
			echo "GVS PING $p OK"
		else
			echo "GVS PING $p FAIL"
		fi
	done
	sleep 1
done
`

// cpioWriter writes a "newc" cpio archive.
type cpioWriter struct {
	buf bytes.Buffer
	ino int
}

func (w *cpioWriter) entry(name string, mode uint32, data []byte, rdevMajor, rdevMinor int) {
	w.ino++
	nlink := 1
	if mode&0o170000 == 0o040000 {
		nlink = 2
	}
	fmt.Fprintf(&w.buf, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		w.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdevMajor, rdevMinor, len(name)+1, 0)
	w.buf.WriteString(name)
	w.buf.WriteByte(0)
	w.pad()
	w.buf.Write(data)
	w.pad()
}

func (w *cpioWriter) pad() {
	for w.buf.Len()%4 != 0 {
		w.buf.WriteByte(0)
	}
}

func (w *cpioWriter) dir(name string)                      { w.entry(name, 0o040755, nil, 0, 0) }
func (w *cpioWriter) file(name string, m uint32, b []byte) { w.entry(name, 0o100000|m, b, 0, 0) }
func (w *cpioWriter) chardev(name string, major, minor int) {
	w.entry(name, 0o020600, nil, major, minor)
}

func (w *cpioWriter) finish() []byte {
	w.entry("TRAILER!!!", 0, nil, 0, 0)
	return w.buf.Bytes()
}

// buildInitramfs writes the guest initramfs (newc cpio) to
// path: busybox, the network modules for k and guestInit.
func buildInitramfs(k guestKernel, busybox, path string) error {
	mods, err := moduleOrder(k, guestModules)
	if err != nil {
		return err
	}
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	var w cpioWriter
	for _, d := range []string{"bin", "dev", "etc", "lib", "lib/modules", "proc", "sys", "tmp"} {
		w.dir(d)
	}
	w.chardev("dev/console", 5, 1)
	w.chardev("dev/null", 1, 3)
	w.file("bin/busybox", 0o755, bb)
	w.file("init", 0o755, []byte(guestInit))
	var list []string
	for _, m := range mods {
		b, err := readModule(filepath.Join(k.Modules, m))
		if err != nil {
			return err
		}
		name := modName(m) + ".ko"
		w.file("lib/modules/"+name, 0o644, b)
		list = append(list, name)
	}
	w.file("etc/modules", 0o644, []byte(strings.Join(list, "\n")+"\n"))
	// Uncompressed: unpacking gzip in an emulated (TCG) CPU costs seconds.
	return os.WriteFile(path, w.finish(), 0o644)
}

// guestImage builds the kernel/initramfs pair once per test binary run.
type guestImage struct {
	Kernel, Initrd string
}

func newGuestImage(t *testing.T, dir string) guestImage {
	t.Helper()
	k, err := findGuestKernel()
	testutil.Require(t, err == nil, "guest kernel: %v", err)
	bb, err := staticBusybox()
	testutil.Require(t, err == nil, "static busybox (busybox-static): %v", err)
	initrd := filepath.Join(dir, "initrd.cpio")
	if err := buildInitramfs(k, bb, initrd); err != nil {
		t.Fatalf("initramfs: %v", err)
	}
	kernel, err := pvhKernel(k.Image, filepath.Join(dir, "vmlinux"))
	if err != nil {
		t.Logf("guest kernel: booting the bzImage %s: %v", k.Image, err)
		kernel = k.Image
	}
	return guestImage{Kernel: kernel, Initrd: initrd}
}

// staticBusybox finds a statically linked busybox (package busybox-static):
// the initramfs has no libc.
func staticBusybox() (string, error) {
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		static := true
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				static = false
			}
		}
		f.Close()
		if static {
			return p, nil
		}
	}
	return "", fmt.Errorf("no statically linked /bin/busybox")
}

var pingLine = regexp.MustCompile(`GVS PING (\S+) (OK|FAIL)`)

// pingResults parses the console text: per target, the results in order.
func pingResults(console string) map[string][]bool {
	res := map[string][]bool{}
	for _, m := range pingLine.FindAllStringSubmatch(console, -1) {
		res[m[1]] = append(res[m[1]], m[2] == "OK")
	}
	return res
}
