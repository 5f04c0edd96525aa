//go:build unix

package daemon

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Pidfile is a pidfile created and locked by this process.
type Pidfile struct {
	path string
	f    *os.File
}

// Errors of CreatePidfile and ReadPidfile.
var (
	// ErrAlreadyRunning: another live process holds the pidfile's lock.
	ErrAlreadyRunning = errors.New("pidfile is locked by another process")
	// ErrNotRunning: the pidfile names no live, locking process (ovs-appctl
	// reports it as ESRCH, "No such process").
	ErrNotRunning = syscall.ESRCH
)

func wholeFileLock(typ int16) *unix.Flock_t {
	return &unix.Flock_t{Type: typ, Whence: 0, Start: 0, Len: 0}
}

// CreatePidfile writes "<pid>\n" to path the way OVS does: it writes
// <path>.tmp, takes a classic POSIX (fcntl F_SETLK, not OFD, not flock) write
// lock on the whole file, renames it over path and keeps the descriptor open
// for the life of the process, so ovs-appctl's F_GETLK check finds a lock
// owned by the pid written in the file.
func CreatePidfile(path string) (*Pidfile, error) {
	if pid, err := ReadPidfile(path); err == nil && pid != os.Getpid() {
		return nil, fmt.Errorf("%s: %w (pid %d)", path, ErrAlreadyRunning, pid)
	}
	tmp := path + ".tmp"
	_ = os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_EXCL|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create pidfile %s: %w", tmp, err)
	}
	if err := unix.FcntlFlock(f.Fd(), unix.F_SETLK, wholeFileLock(unix.F_WRLCK)); err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("lock pidfile %s: %w", tmp, err)
	}
	if _, err := fmt.Fprintf(f, "%d\n", os.Getpid()); err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("write pidfile %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("rename pidfile %s: %w", path, err)
	}
	return &Pidfile{path: path, f: f}, nil
}

// Path returns the pidfile's path.
func (p *Pidfile) Path() string { return p.path }

// Remove deletes the pidfile and releases its lock (clean shutdown).
func (p *Pidfile) Remove() error {
	if p == nil || p.f == nil {
		return nil
	}
	err := os.Remove(p.path)
	_ = p.f.Close()
	p.f = nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove pidfile: %w", err)
	}
	return nil
}

// ReadPidfile returns the pid in path after the check ovs-appctl makes: the
// file must be write-locked (POSIX lock) by the process whose pid it holds.
// Otherwise the error wraps ErrNotRunning (or the open error). Never call it
// from the process that owns the pidfile: closing any descriptor of the file
// drops that process's lock.
func ReadPidfile(path string) (int, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			f, err = os.Open(path)
		}
		if err != nil {
			return 0, err
		}
	}
	defer f.Close()
	lk := wholeFileLock(unix.F_WRLCK)
	if err := unix.FcntlFlock(f.Fd(), unix.F_GETLK, lk); err != nil {
		return 0, fmt.Errorf("%s: fcntl: %w", path, err)
	}
	if lk.Type == unix.F_UNLCK {
		return 0, fmt.Errorf("%s is stale: %w", path, ErrNotRunning)
	}
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s: no pid: %w", path, ErrNotRunning)
	}
	if int(lk.Pid) != pid {
		return 0, fmt.Errorf("%s: locked by pid %d instead of %d: %w", path, lk.Pid, pid, ErrNotRunning)
	}
	return pid, nil
}
