//go:build !linux

package datapath

import "time"

// processCPU is not measured outside Linux.
func processCPU() time.Duration { return 0 }
