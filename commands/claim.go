package commands

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
)

// Deciding an approval once: the claim, its checks against the sealed
// record, and the answers when it fails.

// startLanded handles a StartJob that failed without saying why (its
// answer may be lost while its write landed): the job is read back. When
// it is there as written, the claim and the command row went in (nothing
// more is written) and the job runs by itself once the lease this
// process never got lapses (ResumeJobs); the reply says so. Nil when the
// error is a known refusal or the job is not there: claimFailed answers.
func (e *Engine) startLanded(ctx context.Context, c *call, id string, rec jobRecord, data []byte, startErr error) *bot.Reply {
	if errors.Is(startErr, errUnverified) || errors.Is(startErr, store.ErrDecided) || errors.Is(startErr, store.ErrExpired) ||
		errors.Is(startErr, store.ErrNotFound) {
		return nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	j, _, err := e.st.GetJob(rctx, id)
	var r bot.Reply
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && !bytes.Equal(j.Data, data):
		return nil
	case err != nil:
		e.log.Error("job start: the store failed and cannot say whether the job was recorded", "request_id", c.id, "job", id,
			"err", redactIDs(startErr.Error()), "read_err", redactIDs(err.Error()))
		r = bot.Reply{Kind: bot.Error, Title: "State store unavailable", Visibility: bot.Ephemeral, Summary: []string{
			"The state store failed while recording the approval and cannot say whether it was recorded. If it was, the job runs by itself " +
				"within about " + durationWords(e.resumeWithin()) + " and its outcome replaces the approval message; " + e.cmdName + " jobs shows it. " +
				"If it was not, the request is still pending. The operators have the details in the log (request " + c.id + ")."}}
	default:
		c.audited = true // the command row went in with the job
		e.log.Warn("job start: the store's answer was lost but the job is recorded; it is resumed once its lease lapses",
			"request_id", c.id, "job", id, "err", redactIDs(startErr.Error()))
		run := e.newJobRun(id, rec, c, store.Lease{}, nil)
		r = bot.Reply{Kind: bot.Pending, Title: rec.Action.progressTitle(0), Visibility: bot.InChannel, ReplaceOriginal: rec.Origin.Message != "",
			Summary: []string{run.who() + ".",
				"The state store's answer was lost, but the job is recorded: it starts by itself within about " + durationWords(e.resumeWithin()) +
					", and its outcome replaces this message (" + e.cmdName + " jobs shows it meanwhile)."}}
		r = e.done("approve", r, "approved")
		return &r
	}
	r = e.done("approve", r, "")
	return &r
}

// claim decides the pending action once (store.Claim); what the store
// claimed must be the record that was verified.
func (e *Engine) claim(ctx context.Context, c *call, id string, p store.Pending, decision store.State) (store.Pending, error) {
	now := e.now()
	claimed, err := e.st.Claim(ctx, id, decision, c.subject, now)
	if err != nil && !errors.Is(err, store.ErrDecided) && !errors.Is(err, store.ErrExpired) && !errors.Is(err, store.ErrNotFound) {
		// The answer may be lost while the write landed: read it back.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
		back, rerr := e.st.GetPending(rctx, id)
		cancel()
		if rerr == nil && back.State == decision && back.DecidedBy == c.subject && back.DecidedAt.Sub(now).Abs() < time.Millisecond {
			e.log.Warn("claim: the store's answer was lost but the decision is recorded", "request_id", c.id, "pending", id, "err", redactIDs(err.Error()))
			claimed, err = back, nil
		}
	}
	if err != nil {
		return claimed, err
	}
	return claimed, claimedSame(p, claimed)
}

// claimedSame checks that what the store claimed (Claim, StartJob) is the
// record that was verified: nothing swapped it in between.
func claimedSame(verified, claimed store.Pending) error {
	if !sameRecord(verified, claimed) {
		return fmt.Errorf("%w: the record changed in the store between reading and deciding it", errUnverified)
	}
	return nil
}

// pastExpiry refuses, before anything is claimed or written, a decision
// on an approval past its sealed expiry: the store's expiry index is not
// sealed and the sweep may not have run yet (ExpireDue expires and audits
// it). Nil while it has not expired.
func (e *Engine) pastExpiry(c *call, a action, p store.Pending, verb string) *bot.Reply {
	if e.now().Before(a.Expires) {
		return nil
	}
	r := e.done(verb, expiredReply(a, p), "")
	return &r
}

// expiredReply replaces an approval message once the request expired.
func expiredReply(a action, p store.Pending) bot.Reply {
	return bot.Reply{Kind: bot.Warning, Title: "Expired: " + a.title(), Visibility: bot.InChannel, ReplaceOriginal: true,
		Summary: []string{fmt.Sprintf("This request expired at %s UTC; nothing was ended. Ask again if it is still needed.", p.ExpiresAt.UTC().Format(time.DateTime))}}
}

// claimFailed turns a failed Claim into a reply (nil when the claim won).
func (e *Engine) claimFailed(ctx context.Context, c *call, id string, p, claimed store.Pending, a action, err error, verb string) *bot.Reply {
	var r bot.Reply
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errUnverified):
		e.tampered(ctx, c, id, err)
		r = e.unverified(c)
	case errors.Is(err, store.ErrDecided):
		r = alreadyDecided(claimed)
	case errors.Is(err, store.ErrExpired):
		observed := ""
		if verb == "reject" {
			// Claim moved it to expired: audit that here. An approve's
			// StartJob leaves it to ExpireDue, which expires and audits
			// it in one write (and counts it).
			e.audit(ctx, c, store.Event{Action: "expire", Command: auditText(a.Command), Pending: id, Target: a.scopeText(),
				Outcome: "expired at " + p.ExpiresAt.UTC().Format(time.RFC3339) + "; " + verb + " click refused"})
			observed = "expired"
		}
		r = e.done(verb, expiredReply(a, p), observed)
		return &r
	case errors.Is(err, store.ErrNotFound):
		r = bot.Reply{Kind: bot.Info, Title: "Unknown or expired approval", Summary: []string{"This approval request is unknown or expired."}, Visibility: bot.Ephemeral}
	default:
		r = e.storeDown(c, "record the decision", err)
	}
	r = e.done(verb, r, "")
	return &r
}
