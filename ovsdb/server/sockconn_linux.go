package server

import (
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// sockConn is a client's unix or TCP socket taken out of Go's network
// poller. Go registers every socket for input and output readiness, so each
// time a monitoring client reads an update its kernel socket signals "room
// to write" to our process, and an idle scheduler thread wakes up for it: a
// hundred clients reading one commit's update cost the server a dozen
// thread wake-ups and a share of its CPU per commit. A sockConn watches its
// socket for input only, through an epoll instance of its own that Go's
// poller waits on, and writes with non-blocking writes; only a writer that
// finds the socket full waits for room, in poll(2).
type sockConn struct {
	fd    int // the socket, non-blocking
	ep    *os.File
	epRaw syscall.RawConn

	mu     sync.RWMutex // read-held around every use of fd; Close takes it to close fd
	closed bool
	once   sync.Once
}

// newSockConn moves c's socket into a sockConn and closes c. On error c is
// left as it was.
func newSockConn(c net.Conn) (*sockConn, error) {
	scn, ok := c.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("sockconn: %T has no file descriptor", c)
	}
	raw, err := scn.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("sockconn: %w", err)
	}
	fd, derr := -1, error(nil)
	if err := raw.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, fmt.Errorf("sockconn: %w", err)
	}
	if derr != nil {
		return nil, fmt.Errorf("sockconn: dup: %w", derr)
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sockconn: epoll_create1: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(fd)
		return nil, fmt.Errorf("sockconn: epoll_ctl: %w", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		unix.Close(fd)
		return nil, fmt.Errorf("sockconn: %w", err)
	}
	// A non-blocking descriptor is registered with Go's poller, which
	// reports the epoll instance readable when the socket has input.
	ep := os.NewFile(uintptr(epfd), "sockconn-epoll")
	epRaw, err := ep.SyscallConn()
	if err != nil {
		ep.Close()
		unix.Close(fd)
		return nil, fmt.Errorf("sockconn: %w", err)
	}
	c.Close() // the socket lives on in fd; Go's poller forgets the old descriptor
	return &sockConn{fd: fd, ep: ep, epRaw: epRaw}, nil
}

// Read reads what the socket has, waiting (in Go's poller) while it has
// nothing.
func (s *sockConn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	var n int
	var err error
	werr := s.epRaw.Read(func(uintptr) bool {
		s.mu.RLock()
		defer s.mu.RUnlock()
		if s.closed {
			n, err = 0, net.ErrClosed
			return true
		}
		err = nil
		for {
			var errno syscall.Errno
			n, errno = rawRead(uintptr(s.fd), b)
			if errno == unix.EINTR {
				continue
			}
			if errno != 0 {
				n, err = 0, errno
			}
			break
		}
		return err != unix.EAGAIN
	})
	switch {
	case werr != nil:
		return 0, net.ErrClosed
	case err != nil:
		return 0, err
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// tryWrite writes as much of b as the socket takes without waiting.
func (s *sockConn) tryWrite(b []byte) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0
	}
	return writeNoWait(uintptr(s.fd), b)
}

// Write writes all of b, waiting in poll(2) while the socket is full.
// Close wakes it (shutdown makes the socket ready).
func (s *sockConn) Write(b []byte) (int, error) {
	done := 0
	for done < len(b) {
		s.mu.RLock()
		if s.closed {
			s.mu.RUnlock()
			return done, net.ErrClosed
		}
		m, errno := rawWrite(uintptr(s.fd), b[done:])
		if errno == unix.EAGAIN {
			fds := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLOUT}}
			if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
				s.mu.RUnlock()
				return done, err
			}
			s.mu.RUnlock()
			continue
		}
		s.mu.RUnlock()
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return done, errno
		}
		done += m
	}
	return done, nil
}

// Close shuts the socket down, which wakes a Read or Write waiting on it,
// and then closes it once no call is using the descriptor.
func (s *sockConn) Close() error {
	s.once.Do(func() {
		s.mu.RLock()
		_ = unix.Shutdown(s.fd, unix.SHUT_RDWR)
		s.mu.RUnlock()
		s.mu.Lock()
		s.closed = true
		unix.Close(s.fd)
		s.mu.Unlock()
		s.ep.Close()
	})
	return nil
}
