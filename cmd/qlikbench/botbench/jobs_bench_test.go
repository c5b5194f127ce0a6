package botbench

import (
	"testing"

	"github.com/qlikbot/qlikbot/internal/qlikbench"
)

// BenchmarkResumeKilledKick1000: the resume scenario of qlikbench (kill at
// about 300 done, reopen, resume) as a Go benchmark.
func BenchmarkResumeKilledKick1000(b *testing.B) {
	k := kickSize(qlikbench.Options{})
	var secs float64
	for b.Loop() {
		r, err := RunResume(b.Context(), k)
		if err != nil {
			b.Fatal(err)
		}
		secs += r.Elapsed.Seconds()
	}
	b.ReportMetric(secs/float64(b.N), "s/resume")
}

// BenchmarkJournaledKick1000 reports the store writes of an approved
// 1,000-session kick with its time.
func BenchmarkJournaledKick1000(b *testing.B) {
	k := kickSize(qlikbench.Options{})
	var secs float64
	writes := 0
	for b.Loop() {
		took, w, err := runCountedKick(b.Context(), k)
		if err != nil {
			b.Fatal(err)
		}
		secs += took.Seconds()
		writes = w
	}
	b.ReportMetric(secs/float64(b.N), "s/approved-kick")
	b.ReportMetric(float64(writes), "store-writes/kick")
}
