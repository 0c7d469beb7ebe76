//go:build race

package ui

// raceEnabled: the race detector slows everything down several times, so
// timing limits only hold without it.
const raceEnabled = true
