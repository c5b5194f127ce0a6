package commands

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
)

// Pending approvals are sealed (store/seal: HMAC-SHA256 under the state
// key, bound to the kind and the approval id) before they are stored, and
// verified whenever they are read back, so whoever can write to the store
// alone can neither forge an approval nor alter one (its targets, its
// requester, its expiry). A record that does not verify is refused,
// audited as "tamper", and nothing is done.

// sealKind is the seal kind of a pending approval.
const sealKind = "approval"

// errUnverified marks a pending record that failed verification.
var errUnverified = errors.New("approval cannot be verified")

// open verifies a stored pending approval and decodes its action: the seal,
// then the targets (a sealed record is still checked as if typed), then
// the store's times against the sealed ones. Errors wrap errUnverified.
func (e *Engine) open(p store.Pending) (action, error) {
	payload, err := e.sealer.Open(sealKind, p.ID, p.Data)
	if err != nil {
		return action{}, fmt.Errorf("%w: %w", errUnverified, err)
	}
	a, err := decodeAction(payload)
	if err != nil {
		return action{}, fmt.Errorf("%w: %w", errUnverified, err)
	}
	if !p.CreatedAt.Equal(a.Created) || !p.ExpiresAt.Equal(a.Expires) {
		return action{}, fmt.Errorf("%w: the store's times (created %s, expires %s) differ from the sealed ones (%s, %s)",
			errUnverified, p.CreatedAt.UTC(), p.ExpiresAt.UTC(), a.Created.UTC(), a.Expires.UTC())
	}
	a.showSite = e.multi()
	return a, nil
}

// tampered records a record that failed verification, in the audit trail
// and the log.
func (e *Engine) tampered(ctx context.Context, c *call, id string, err error) {
	e.log.Error("pending approval failed verification: refused", "request_id", c.id, "pending", id, "err", redactIDs(err.Error()))
	e.audit(ctx, c, store.Event{Action: "tamper", Pending: id, Reason: err.Error(), Outcome: "refused; nothing was done"})
}

// unverified is the reply to a click on an approval that failed
// verification.
func (e *Engine) unverified(c *call) bot.Reply {
	return bot.Reply{Kind: bot.Error, Title: "Cannot verify this approval", Visibility: bot.Ephemeral, Summary: []string{
		"This approval cannot be verified; nothing was done.",
		"It is recorded in the audit trail; the operators have the details in the log (request " + c.id + ").",
	}}
}

// notVerifiableHere answers a click on a record (an approval, a job)
// sealed with a key this replica does not hold: during a key rotation
// another replica may hold it, so it is neither refused as forged nor
// closed; left says where it stands ("it is still pending"). Logged
// loudly and recorded in the click's command row.
func (e *Engine) notVerifiableHere(c *call, kind, id string, err error, left string) bot.Reply {
	e.log.Error(strings.ToUpper(kind)+" NOT VERIFIABLE HERE: it is sealed with a key this replica does not hold; "+left+
		" (give every replica the same QLIKBOT_STATE_KEY, and the previous one in QLIKBOT_STATE_OLD_KEYS)",
		"request_id", c.id, "pending", id, "holder", e.holder, "err", redactIDs(err.Error()))
	c.note("denied", "cannot be verified here: sealed with a key this replica does not hold; "+left, "")
	return bot.Reply{Kind: bot.Error, Title: "Cannot verify this " + kind + " here", Visibility: bot.Ephemeral, Summary: []string{
		"This " + kind + " is sealed with a key this qlikbot replica does not hold (another replica may hold it); nothing was done and " + left + ".",
		"Try again in a moment; the operators have the details in the log (request " + c.id + ").",
	}}
}

// sameRecord checks that what Claim decided is the record that was
// verified (nothing swapped it in between).
func sameRecord(verified, claimed store.Pending) bool {
	return bytes.Equal(verified.Data, claimed.Data) && verified.ExpiresAt.Equal(claimed.ExpiresAt)
}
