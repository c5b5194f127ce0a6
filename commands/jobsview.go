package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
)

// jobsShown bounds the jobs /qlik jobs reads (each with its journal).
const jobsShown = 50

// listJobs answers /qlik jobs: the approved work that is running or waits
// to be resumed, newest first, with its progress from the journal. Jobs
// show their approval id (never a session id). It needs the audit right
// everywhere (every site too), like the trail it summarizes.
func (e *Engine) listJobs(ctx context.Context, c *call) bot.Reply {
	s, r := e.auditScope(c, Command{})
	if r != nil {
		return *r
	}
	if d := e.decide(c, authz.Audit, s, "jobs"); !d.Allowed {
		return e.denied(c, d)
	}
	js, err := e.st.ListJobs(ctx, true, jobsShown)
	if err != nil {
		return e.storeDown(c, "list the jobs", err)
	}
	t := &bot.Table{Columns: []string{"Approval", "Approved (UTC)", "What", "Approved by", "Progress", "State"}}
	running, waiting := 0, 0
	for _, j := range js {
		row := []string{j.ID[:min(8, len(j.ID))], j.CreatedAt.UTC().Format(time.DateTime), "", "", "", e.jobState(j.Holder)}
		if j.Holder == "" {
			waiting++
		} else {
			running++
		}
		job, batches, err := e.st.GetJob(ctx, j.ID)
		if err != nil {
			row[2] = "(dropped or unreadable)"
			t.Rows = append(t.Rows, row)
			continue
		}
		rec, err := e.openJob(j.ID, job.Data)
		if err != nil {
			row[2] = "cannot be verified: it is refused, not run"
			t.Rows = append(t.Rows, row)
			continue
		}
		outs, bad := e.journal(j.ID, len(rec.Action.Targets), batches)
		n := counts(outs)
		row[2] = clip(rec.Action.title())
		if e.multi() {
			row[2] = clip(rec.Action.siteName() + ": " + rec.Action.title())
		}
		row[3] = whoText(rec.Approver.Name, rec.Approver.Subject)
		row[4] = fmt.Sprintf("%d of %d: deleted %d, already gone %d, failed %d", n.done(), len(outs), n.deleted, n.gone, n.failed)
		if len(bad) > 0 {
			row[4] += fmt.Sprintf(" (%d unverified batches disregarded)", len(bad))
		}
		t.Rows = append(t.Rows, row)
	}
	t.TotalRows = len(t.Rows)
	summary := []string{fmt.Sprintf("%s running, %s waiting to be resumed (it happens by itself within %s).",
		plural(running, "job"), plural(waiting, "job"), durationWords(e.resumeWithin()))}
	if len(js) == 0 {
		summary, t = []string{"No approved work is running or waiting to be resumed."}, nil
	}
	if len(js) == jobsShown {
		summary = append(summary, fmt.Sprintf("The newest %d are shown.", jobsShown))
	}
	return bot.Reply{Kind: bot.Info, Title: "Jobs", Summary: summary, Table: t, Visibility: bot.Ephemeral}
}

// jobState names who runs a job: this process, another one (by host and
// process id, never the lease token), or nobody yet.
func (e *Engine) jobState(holder string) string {
	switch {
	case holder == "":
		return "interrupted: resumes by itself"
	case holder == e.holder:
		return "running here"
	}
	h := holder
	if i := strings.LastIndex(h, "/"); i > 0 {
		h = h[:i] // the random part tells restarts apart; people need host/pid
	}
	return "running on " + h
}
