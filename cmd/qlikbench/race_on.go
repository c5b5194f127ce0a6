//go:build race

package main

// raceBuild: this binary runs under the race detector, so the qlikbot it
// builds does too (and shares the build cache with the race-built tests).
const raceBuild = true
