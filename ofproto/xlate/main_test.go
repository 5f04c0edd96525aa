package xlate

import (
	"flag"
	"os"
	"testing"

	"github.com/gvswitch/gvswitch/internal/testutil"
)

// TestMain fails the run when tests leak goroutines (datapath poll loops,
// revalidators) or file descriptors. Fuzzing is exempt: the fuzz
// coordinator's os/signal goroutine would count as a leak.
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		os.Exit(m.Run())
	}
	testutil.VerifyNoLeaks(m)
}
