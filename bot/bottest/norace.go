//go:build !race

package bottest

const raceEnabled = false
