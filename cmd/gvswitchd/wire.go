package main

import (
	"context"
	"errors"

	"github.com/gvswitch/gvswitch/datapath"
	"github.com/gvswitch/gvswitch/internal/daemon"
	"github.com/gvswitch/gvswitch/ofproto"
)

// wireXlate connects NORMAL translation to the datapath. Until
// ofproto/xlate's translator lands, configuration changes flush the
// datapath's flows.
func wireXlate(opts *ofproto.Options, dp *datapath.Datapath, _ *daemon.Log) {
	opts.OnConfigChange = dp.FlowFlush
}

// startEmbedded starts the embedded OVSDB server and returns its remote.
func startEmbedded(_ context.Context, _ *config, _ *daemon.Log, _ func(), _ *shutdown) (string, error) {
	return "", errors.New("the embedded OVSDB server is not available yet: use --db=unix:PATH")
}
