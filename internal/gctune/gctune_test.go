package gctune

import (
	"os"
	"runtime/debug"
	"testing"
)

// TestApply: the defaults take effect when the environment sets nothing,
// and GOGC / GOMEMLIMIT win when it does. Not parallel: it changes
// process-wide settings (and restores them).
func TestApply(t *testing.T) {
	oldPercent := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(oldPercent)
		debug.SetMemoryLimit(oldLimit)
	})
	t.Run("defaults", func(t *testing.T) {
		for _, k := range []string{"GOGC", "GOMEMLIMIT"} {
			t.Setenv(k, "") // restored after the test ...
			os.Unsetenv(k)  // ... and unset meanwhile
		}
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(1 << 40)
		Apply()
		if got := debug.SetGCPercent(100); got != GCPercent {
			t.Errorf("GC percent %d, want %d", got, GCPercent)
		}
		if got := debug.SetMemoryLimit(-1); got != MemoryLimit {
			t.Errorf("memory limit %d, want %d", got, MemoryLimit)
		}
	})
	t.Run("environment wins", func(t *testing.T) {
		t.Setenv("GOGC", "150")
		t.Setenv("GOMEMLIMIT", "1GiB")
		debug.SetGCPercent(150) // what the runtime read from GOGC at start
		debug.SetMemoryLimit(1 << 30)
		Apply()
		if got := debug.SetGCPercent(150); got != 150 {
			t.Errorf("GC percent %d, want GOGC's 150", got)
		}
		if got := debug.SetMemoryLimit(-1); got != 1<<30 {
			t.Errorf("memory limit %d, want GOMEMLIMIT's", got)
		}
	})
}
