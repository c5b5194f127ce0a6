package commands

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
)

// TestApprovedJobRunsInBackground: with a Deliverer, an approved kick of
// 250 sessions does not hold the request: the click is answered with the
// first progress message (through its ReplyTo; a typed approve gets it as
// its reply) while the first batch is still held at Qlik, the job runs
// under the job tracker, and its outcome replaces the approval message
// through the Deliverer (a typed approve's comes as a new message).
func TestApprovedJobRunsInBackground(t *testing.T) {
	t.Parallel()
	for _, typed := range []bool{false, true} {
		name := map[bool]string{false: "click", true: "typed"}[typed]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := jobEnv(t)
			reached, release := make(chan struct{}), make(chan struct{})
			q := &hookQlik{Client: e.client, before: func(ctx context.Context, n int) {
				if n == 1 {
					close(reached)
					<-release
				}
			}}
			out := newDeliveries()
			eng := e.jobEngine(t, q, e.st, WithDeliverer(out), withWindow(1))
			pending := pendingID(t, askAs(t, eng, "UADMIN", "kick vp2"))
			ids := vp2(e)
			rec := &recorder{}
			var done <-chan bot.Reply
			if typed {
				ch := make(chan bot.Reply, 1)
				go func() { ch <- askAs(t, eng, "UADMIN2", "approve "+pending) }()
				done = ch
			} else {
				done = approveJob(t, eng, pending, rec)
			}
			await(t, reached, 30*time.Second, "the first batch")
			r := awaitReply(t, done, 30*time.Second, "the approval's answer while its first batch is held")
			first := r
			if !typed {
				if !r.IsEmpty() || len(rec.got()) != 1 {
					t.Fatalf("a click answered %q and said %d things through ReplyTo; want the progress through ReplyTo alone", r.Title, len(rec.got()))
				}
				first = rec.got()[0]
			}
			if first.Kind != bot.Pending || first.Title != "Ending 250 sessions on vp2: 0 done" || first.ReplaceOriginal == typed {
				t.Errorf("first progress message %v %q (replace %v): %s", first.Kind, first.Title, first.ReplaceOriginal, joined(first))
			}
			if !eng.jobs.isRunning(pending) {
				t.Error("the job is not under the job tracker")
			}
			close(release)
			await(t, out.final, 60*time.Second, "the job's outcome")
			f := finalOf(t, out.all())
			want := jobOrigin
			if typed {
				want.Message = ""
			}
			if f.dst != want || f.r.Kind != bot.Success || f.r.Title != "Approved: end 250 sessions on vp2" ||
				!strings.Contains(joined(f.r), "Deleted 250, already gone 0, failed 0") {
				t.Errorf("outcome to %+v: %v %q %s", f.dst, f.r.Kind, f.r.Title, joined(f.r))
			}
			if err := eng.StopJobs(t.Context()); err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				if n := e.deleteCounts()[id]; n != 1 {
					t.Errorf("session %s got %d DELETEs, want 1", hd(id), n)
				}
			}
			checkOneOutcomePerTarget(t, jobAudit(t, e.st, pending)["delete"], ids)
		})
	}
}
