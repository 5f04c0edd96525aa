package main

import (
	"context"
	"time"

	"github.com/gvswitch/gvswitch/datapath"
	"github.com/gvswitch/gvswitch/ofproto"
	"github.com/gvswitch/gvswitch/ofproto/xlate"
)

// wireXlate connects NORMAL translation to the datapath: the translator is
// the upcall handler, receives every configuration snapshot, and its
// revalidator keeps installed megaflows consistent with configuration and
// MAC learning (and ages the MAC tables) until ctx ends.
func wireXlate(ctx context.Context, opts *ofproto.Options, dp *datapath.Datapath, down *shutdown) {
	x := xlate.New()
	opts.Xlate = x
	dp.SetUpcallHandler(x)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		x.RunRevalidator(rctx, dp, time.Second)
	}()
	down.add(func() { cancel(); <-done })
}
