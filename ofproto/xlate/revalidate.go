package xlate

import (
	"context"
	"time"

	"github.com/gvswitch/gvswitch/datapath"
)

// FlowRevalidator is what RunRevalidator needs from the datapath:
// *datapath.Datapath implements it.
type FlowRevalidator interface {
	Revalidate(fn datapath.RevalidateFunc) (modified, deleted int)
}

// RunRevalidator keeps dp's megaflows consistent with the configuration and
// the MAC tables until ctx is done. It revalidates every flow whenever
// Changes fires (a Publish, a MAC learned, moved, flushed or expired) and
// every interval (default 1 s when interval <= 0). The periodic pass also
// refreshes learned MACs from flow statistics before aging the tables, so a
// MAC whose traffic stays in the fast path never expires, and it repairs a
// flow installed from a snapshot that was replaced while its upcall ran.
// It runs in the caller's goroutine.
func (x *Xlate) RunRevalidator(ctx context.Context, dp FlowRevalidator, interval time.Duration) {
	if interval <= 0 {
		interval = time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-x.changes:
			dp.Revalidate(x.RevalidateFlow)
		case <-tick.C:
			dp.Revalidate(x.RevalidateFlow)
			if x.Expire() > 0 {
				// Expire notified; the next loop revalidates.
				continue
			}
		}
	}
}
