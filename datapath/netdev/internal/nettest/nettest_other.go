//go:build !linux

package nettest

import "testing"

// RequireRoot skips: the fixtures need Linux.
func RequireRoot(t testing.TB) {
	t.Helper()
	t.Skip("netdev fixtures need Linux")
}
