package dummy

import (
	"testing"

	"github.com/gvswitch/gvswitch/internal/testutil"
)

// TestMain fails the run when goroutines or file descriptors leak.
func TestMain(m *testing.M) { testutil.VerifyNoLeaks(m) }
