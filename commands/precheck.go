package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
)

var _ bot.Prechecker = (*Engine)(nil)

// Precheck tells, before an Approve or Reject click is sent, whether it
// would be refused (bot.Prechecker): the console asks it before its
// "Type y to confirm" prompt. It reads the pending approval and verifies
// it as approve and reject do, and answers with the click's own refusal
// when it is sure of it: an approval unknown, expired or already decided;
// the requester approving their own request (two-person rule); someone
// without the approve right, or a requester who lost theirs. It claims
// nothing, audits nothing and counts nothing. A record that does not
// verify, a site no longer served and a store that does not answer are
// left to the click, which audits and reports them.
func (e *Engine) Precheck(ctx context.Context, req bot.Request) (bot.Reply, bool) {
	act := req.Action
	if act == nil || (act.ID != ActionApprove && act.ID != ActionReject) || !pendingIDRE.MatchString(act.Value) {
		return bot.Reply{}, false
	}
	p, err := e.st.GetPending(ctx, act.Value)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return unknownApproval(), true
	case err != nil:
		return bot.Reply{}, false
	}
	a, err := e.open(p)
	if err != nil || e.siteNamed(a.siteName()) == nil {
		return bot.Reply{}, false
	}
	// The store's State and DecidedBy are not sealed: they only choose a
	// quick answer here; approve and reject check again through Claim.
	switch {
	case p.State == store.StateExpired, p.State == store.StatePending && !e.now().Before(p.ExpiresAt):
		return unknownApproval(), true
	case p.State != store.StatePending:
		return alreadyDecided(p), true
	}
	c := e.newCall(req, actionText(act))
	if act.ID == ActionApprove {
		if _, refusal := e.checkApprover(c, a); refusal != nil {
			return *refusal, true
		}
		return bot.Reply{}, false
	}
	if d, ok := e.mayReject(c, a); !ok {
		return e.denied(c, d), true
	}
	return bot.Reply{}, false
}

// unknownApproval answers a click on an approval the store does not know
// (never made, or expired and dropped) or that has expired.
func unknownApproval() bot.Reply {
	return bot.Reply{Kind: bot.Info, Title: "Unknown or expired approval", Visibility: bot.Ephemeral,
		Summary: []string{"This approval request is unknown or expired; ask again if it is still needed."}}
}

// alreadyDecided answers a click on an approval someone already approved
// or rejected.
func alreadyDecided(p store.Pending) bot.Reply {
	return bot.Reply{Kind: bot.Info, Title: "Already decided", Visibility: bot.Ephemeral,
		Summary: []string{fmt.Sprintf("Already %s by %s at %s UTC.", p.State, p.DecidedBy, p.DecidedAt.UTC().Format(time.DateTime))}}
}
