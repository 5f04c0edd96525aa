package unixctl

import (
	"testing"

	"github.com/gvswitch/gvswitch/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyNoLeaks(m) }
