package storage

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// lockDB creates (if needed) and write-locks the lock file of the database
// file (symlinks already resolved), returning it open: closing it releases the lock.
//
// The lock is an open file description lock (F_OFD_SETLK): it conflicts
// with the classic fcntl locks ovsdb-tool and ovsdb-server take, and unlike
// a classic lock also with a second Log in this process, and closing some
// other descriptor of the file cannot drop it. Kernels before 3.15 lack OFD
// locks; there it falls back to a classic F_SETLK.
func lockDB(file string) (*os.File, error) {
	lp := lockPath(file)
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	fd := f.Fd()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 0}
	err = unix.FcntlFlock(fd, unix.F_OFD_SETLK, &lk)
	if errors.Is(err, unix.EINVAL) {
		lk = unix.Flock_t{Type: unix.F_WRLCK}
		err = unix.FcntlFlock(fd, unix.F_SETLK, &lk)
	}
	if err == nil {
		return f, nil
	}
	defer f.Close()
	if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EACCES) {
		return nil, fmt.Errorf("lock %s: %w", lp, err)
	}
	q := unix.Flock_t{Type: unix.F_WRLCK}
	if unix.FcntlFlock(fd, unix.F_GETLK, &q) == nil && q.Type != unix.F_UNLCK && q.Pid > 0 {
		return nil, fmt.Errorf("lock %s held by pid %d: %w", lp, q.Pid, ErrLocked)
	}
	return nil, fmt.Errorf("lock %s held by another user: %w", lp, ErrLocked)
}

// syncData makes the data written to f durable. fdatasync suffices for an
// append-only file: it also flushes the size change, and skips only
// timestamps.
func syncData(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			if err != nil {
				return fmt.Errorf("fdatasync: %w", err)
			}
			return nil
		}
	}
}

// syncDir makes a directory's entries (a created or renamed file) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
