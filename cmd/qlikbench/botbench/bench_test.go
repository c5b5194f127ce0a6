package botbench

import (
	"testing"

	"github.com/qlikbot/qlikbot/internal/qlikbench"
)

// The end-to-end figures as benchmarks. Each iteration of the ack and
// kick benchmarks is one whole scenario (seconds long), so run them with
// -benchtime=1x; compare with `go run ./cmd/qlikbench -only ack,delete`.

// BenchmarkAck200 is one burst per iteration; with -short (CI runs every
// benchmark once) the small burst of cmd/qlikbench -short: the full one
// waits out 5 s Qlik calls for about 25 s.
func BenchmarkAck200(b *testing.B) {
	a := ackSize(qlikbench.Options{Short: testing.Short()})
	var p50, p99, worst float64
	for b.Loop() {
		r, err := RunAck(b.Context(), a)
		if err != nil {
			b.Fatal(err)
		}
		p50 = max(p50, qlikbench.MS(percentile(r.Acks, 50)))
		p99 = max(p99, qlikbench.MS(percentile(r.Acks, 99)))
		worst = max(worst, qlikbench.MS(r.Acks[len(r.Acks)-1]))
	}
	b.ReportMetric(p50, "p50-ack-ms")
	b.ReportMetric(p99, "p99-ack-ms")
	b.ReportMetric(worst, "max-ack-ms")
}

func BenchmarkKickApproved1000(b *testing.B) {
	k := kickSize(qlikbench.Options{})
	var secs float64
	peak := 0
	for b.Loop() {
		r, err := RunKick(b.Context(), k)
		if err != nil {
			b.Fatal(err)
		}
		secs += r.Elapsed.Seconds()
		peak = max(peak, r.Peak)
	}
	b.ReportMetric(secs/float64(b.N), "s/approved-kick")
	b.ReportMetric(float64(peak), "peak-req/s")
}
