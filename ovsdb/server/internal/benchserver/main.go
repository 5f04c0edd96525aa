// Command benchserver serves one persistent Open_vSwitch database with
// package ovsdb/server and nothing else, like `gvswitchd --no-vswitchd`.
// The ovsdb/server benchmarks build it and run it in a child process beside
// Debian's ovsdb-server, so that CPU time and resident memory are measured
// per process, for a binary that links only the database server.
//
// Usage: benchserver DIR serves DIR/conf.db (created when missing) on
// punix:DIR/db.sock until SIGTERM or SIGINT. GVS_OVSDB_BENCH_CPUPROFILE and
// GVS_OVSDB_BENCH_MEMPROFILE name files for a CPU profile of the whole run
// and a heap profile taken at SIGTERM (before the database is released).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"

	"github.com/gvswitch/gvswitch/ovsdb/server"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: benchserver DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "benchserver:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	srv, err := server.New(server.Options{
		DBPath:  filepath.Join(dir, "conf.db"),
		Remotes: []string{"punix:" + filepath.Join(dir, "db.sock")},
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return err
	}
	if prof := os.Getenv("GVS_OVSDB_BENCH_CPUPROFILE"); prof != "" {
		f, err := os.Create(prof)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	<-ctx.Done()
	if prof := os.Getenv("GVS_OVSDB_BENCH_MEMPROFILE"); prof != "" {
		f, err := os.Create(prof)
		if err != nil {
			return err
		}
		runtime.GC()
		err = pprof.WriteHeapProfile(f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return srv.Close()
}
