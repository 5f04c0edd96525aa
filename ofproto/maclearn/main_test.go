package maclearn

import (
	"testing"

	"github.com/gvswitch/gvswitch/internal/testutil"
)

// TestMain fails the run when tests leak goroutines or file descriptors.
func TestMain(m *testing.M) { testutil.VerifyNoLeaks(m) }
