//go:build race

package xlate

const raceEnabled = true
