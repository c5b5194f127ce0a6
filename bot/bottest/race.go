//go:build race

package bottest

// raceEnabled: see E2ESessions.
const raceEnabled = true
