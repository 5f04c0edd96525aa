package daemon

import (
	"os"
	"path/filepath"
)

// Compiled-in Open vSwitch directories (Debian's build).
const (
	DefaultRunDir     = "/var/run/openvswitch"
	DefaultSysconfDir = "/etc/openvswitch"
	DefaultLogDir     = "/var/log/openvswitch"
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// RunDir is OVS_RUNDIR or /var/run/openvswitch.
func RunDir() string { return envOr("OVS_RUNDIR", DefaultRunDir) }

// SysconfDir is OVS_SYSCONFDIR or /etc/openvswitch.
func SysconfDir() string { return envOr("OVS_SYSCONFDIR", DefaultSysconfDir) }

// DBDir is OVS_DBDIR, else the sysconf directory, as OVS's ovs_dbdir().
func DBDir() string { return envOr("OVS_DBDIR", SysconfDir()) }

// LogDir is OVS_LOGDIR or /var/log/openvswitch.
func LogDir() string { return envOr("OVS_LOGDIR", DefaultLogDir) }

// PidfilePath returns <rundir>/<program>.pid.
func PidfilePath(program string) string {
	return filepath.Join(RunDir(), program+".pid")
}

// AbsPath resolves a relative name against dir, as OVS does for --pidfile=
// and --log-file= arguments without a slash.
func AbsPath(dir, name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(dir, name)
}
