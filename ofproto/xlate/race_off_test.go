//go:build !race

package xlate

const raceEnabled = false
