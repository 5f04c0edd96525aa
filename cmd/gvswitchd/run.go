package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gvswitch/gvswitch/datapath"
	"github.com/gvswitch/gvswitch/internal/daemon"
	"github.com/gvswitch/gvswitch/ofproto"
	"github.com/gvswitch/gvswitch/unixctl"
)

// Version is what gvswitchd writes to Open_vSwitch ovs_version: the OVS
// release it mimics, marked as gvswitch so that people can tell.
const Version = "3.1.0-gvswitch"

// shutdown runs cleanups in reverse order.
type shutdown []func()

func (s *shutdown) add(f func()) { *s = append(*s, f) }

func (s shutdown) run() {
	for i := len(s) - 1; i >= 0; i-- {
		s[i]()
	}
}

func run(ctx context.Context, c *config, console io.Writer) error {
	if c.detach {
		if err := daemon.Detach(); err != nil {
			return err
		}
	}
	log := daemon.NewLog(console)
	for _, m := range daemon.Modules {
		log.AddModule(m)
	}
	for _, spec := range c.vlog {
		if err := log.Set(spec); err != nil {
			return fmt.Errorf("-v%s: %w", spec, err)
		}
	}
	if err := daemon.MkdirAll(daemon.RunDir()); err != nil {
		return err
	}
	if c.logFile {
		if err := daemon.MkdirAll(daemon.LogDir()); err != nil {
			return err
		}
		def := "ovs-vswitchd.log"
		if c.program == progOVSDB {
			def = "ovsdb-server.log"
		}
		if err := log.SetLogFile(absIn(daemon.LogDir(), c.logPath, def)); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopSignals := daemon.HandleSignals(cancel, func() { _ = log.Reopen() })
	defer stopSignals()

	var down shutdown
	defer func() { down.run() }()
	remote := c.db
	if remote == "" {
		r, err := startEmbedded(ctx, c, log, cancel, &down)
		if err != nil {
			return err
		}
		remote = r
	}
	if !c.noVswitchd {
		if err := startVswitchd(ctx, c, remote, log, cancel, &down); err != nil {
			return err
		}
	}
	daemon.Ready()
	log.Logger("daemon").Info("gvswitchd started", "database", remote)
	<-ctx.Done()
	log.Logger("daemon").Info("gvswitchd exiting")
	return nil
}

// controlServer creates the pidfile and control socket of program and
// registers the common built-ins.
func controlServer(program, pidPath, ctlPath string, log *daemon.Log, cov *unixctl.Coverage, down *shutdown) (*unixctl.Server, error) {
	rundir := daemon.RunDir()
	if pidPath == "" {
		pidPath = daemon.PidfilePath(program)
	}
	pf, err := daemon.CreatePidfile(absIn(rundir, pidPath, ""))
	if err != nil {
		return nil, err
	}
	down.add(func() { _ = pf.Remove() })
	if ctlPath == "" {
		ctlPath = unixctl.SocketPath(rundir, program, os.Getpid())
	}
	s, err := unixctl.NewServer(absIn(rundir, ctlPath, ""), unixctl.VersionString(program))
	if err != nil {
		return nil, err
	}
	s.RegisterVLog(log)
	s.RegisterCoverage(cov)
	s.Start()
	down.add(func() { _ = s.Close() })
	return s, nil
}

func startVswitchd(ctx context.Context, c *config, remote string, log *daemon.Log, exit func(), down *shutdown) error {
	cov := unixctl.NewCoverage()
	pidPath := ""
	if c.pidfile && c.pidPath != "" {
		pidPath = c.pidPath
	}
	ctl, err := controlServer("ovs-vswitchd", pidPath, c.unixctl, log, cov, down)
	if err != nil {
		return err
	}
	dp, err := datapath.New(datapath.Options{Name: ofproto.DPName})
	if err != nil {
		return fmt.Errorf("datapath: %w", err)
	}
	down.add(func() { _ = dp.Close() })
	db, err := ofproto.DialDB(remote, 30*time.Second, log.Logger("reconnect"))
	if err != nil {
		return err
	}
	down.add(func() { _ = db.Close() })
	opts := ofproto.Options{
		DB:         db,
		Datapath:   dp,
		Opener:     opener{log: log.Logger("netdev")},
		Log:        log.Logger("bridge"),
		FormatFlow: datapath.FormatFlow,
		Count:      func(e string) { cov.Counter(e).Add(1) },
		Version:    Version,
		SystemID:   systemID(),
		RunDir:     daemon.RunDir(),
	}
	for _, e := range ofproto.CoverageEvents {
		cov.Counter(e)
	}
	wireXlate(ctx, &opts, dp, down)
	v := ofproto.New(opts)
	v.RegisterCommands(ctl, exit)
	ctl.RegisterMemory(func(r map[string]uint64) {
		st := dp.Stats()
		r["flows"] = st.Flows
		r["ports"] = uint64(len(dp.Ports()))
	})
	vctx, vcancel := context.WithCancel(ctx)
	go func() { _ = v.Run(vctx) }()
	down.add(func() { vcancel(); v.Wait() })
	// Report readiness (--detach returns) once the database has been
	// reconciled, as ovs-vswitchd does after its first bridge_run.
	select {
	case <-v.Ready():
	case <-time.After(10 * time.Second):
		log.Logger("bridge").Warn("first reconfiguration is taking long; continuing")
	case <-ctx.Done():
	}
	return nil
}

// systemID is external_ids:system-id as ovs-ctl sets it: the contents of
// $OVS_SYSCONFDIR/system-id.conf, or else a fresh random UUID (kept by the
// database afterwards: the vswitchd layer never replaces an existing one,
// and gvswitchd does not write into /etc on its own).
func systemID() string {
	if b, err := os.ReadFile(filepath.Join(daemon.SysconfDir(), "system-id.conf")); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id
		}
	}
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return ""
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
