package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
)

// Approvals that expire unanswered: the periodic sweep and its audit rows.

// ExpireDue records the approvals that passed their deadline unanswered
// and returns how many. cmd calls it periodically. Each expiry and its
// audit row are one store write (store.ExpireDue's auditFor), so a store
// failing midway leaves nothing expired without its row: what is not
// expired now stays pending for the next sweep.
func (e *Engine) ExpireDue(ctx context.Context) (int, error) {
	sweep := bot.NewRequestID()
	ps, err := e.st.ExpireDue(ctx, e.now(), func(p store.Pending) store.Event { return e.expireEvent(sweep, p) })
	for _, p := range ps {
		if _, oerr := e.open(p); oerr != nil {
			e.log.Error("expired approval failed verification", "request_id", sweep, "pending", p.ID, "err", redactIDs(oerr.Error()))
		}
		e.observe(Event{Command: "expire", Outcome: bot.Info.String(), Approval: "expired"})
	}
	if err != nil {
		return len(ps), fmt.Errorf("expire due approvals: %w", err)
	}
	return len(ps), nil
}

// expireEvent is the audit row of an approval expiring unanswered; it
// reads nothing from the store (store.ExpireDue calls it mid-write). A
// record that does not verify is audited as expired all the same, with
// why it cannot be trusted (its requester and scope are not shown).
func (e *Engine) expireEvent(sweep string, p store.Pending) store.Event {
	c := &call{id: sweep, subject: "system"}
	a, err := e.open(p)
	reason := "requested by " + a.Requester.Subject
	if err != nil {
		reason = "cannot be verified: " + err.Error()
		a = action{}
	} else {
		c.req = bot.Request{Platform: bot.Platform(a.Requester.Platform), Channel: a.Requester.Channel}
		c.site = a.siteName()
	}
	return e.event(c, store.Event{Action: "expire", Pending: p.ID, Command: auditText(a.Command), Reason: reason,
		Target: a.scopeText(), Outcome: "expired unanswered at " + p.ExpiresAt.UTC().Format(time.RFC3339)})
}
