package netdev

import "time"

// idlePolls is how many empty polls in a row a receive loop waits its base
// timeout before it starts backing off.
const idlePolls = 10

// PollWait is a receive loop's poll(2) timeout with an idle back-off: after
// idlePolls empty polls in a row each further wait doubles, up to the idle
// bound, and the first frame brings it back to the base. A provider whose
// poll set also holds a wake-up descriptor (for Close) adds no latency by
// backing off; it only spares an idle port's locked thread its wake-ups,
// which with a thousand idle ports cost a third of a CPU in the Go
// scheduler. A busy loop only reads one field per batch.
type PollWait struct {
	base, idle, ms, empty int
}

// NewPollWait returns a PollWait starting at base (at least 1 ms) that
// backs off up to idle; an idle bound below base means no back-off.
func NewPollWait(base, idle time.Duration) PollWait {
	b := max(1, int(base.Milliseconds()))
	return PollWait{base: b, idle: max(b, int(idle.Milliseconds())), ms: b}
}

// MS returns the next poll's timeout in milliseconds.
func (w *PollWait) MS() int { return w.ms }

// Empty records a poll that brought no frame.
func (w *PollWait) Empty() {
	if w.empty < idlePolls {
		w.empty++
		return
	}
	w.ms = min(w.idle, 2*w.ms)
}

// Busy records frames: the next wait is the base again.
func (w *PollWait) Busy() {
	if w.empty != 0 {
		w.empty, w.ms = 0, w.base
	}
}
