//go:build race

package main

// raceEnabled: the test binary runs under the race detector, so the
// qlikbot binary is built with it too (see qlikbotBinary).
const raceEnabled = true
