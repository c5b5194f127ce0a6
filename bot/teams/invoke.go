package teams

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qlikbot/qlikbot/bot"
)

// onInvoke answers an Action.Execute click in the HTTP body: the outcome
// card replaces the clicked card; a reply that does not replace the
// original (a denial, a usage error) is shown to the clicker only and the
// card stays. Work that outlasts the invoke deadline gets a "working on it"
// card now and the outcome as an update of that card later.
func (a *Adapter) onInvoke(w http.ResponseWriter, r *http.Request, act activity) {
	ctx := r.Context()
	if act.Name != invokeAdaptiveCardAction {
		http.Error(w, "invoke not supported", http.StatusNotImplemented)
		return
	}
	click, err := act.executeClick()
	if err != nil {
		a.log.WarnContext(ctx, "teams: bad invoke", "err", err)
		http.Error(w, "bad invoke", http.StatusBadRequest)
		return
	}
	req, ok := a.request(ctx, act)
	if !ok {
		writeInvoke(w, invokeResponse{StatusCode: http.StatusOK, Type: invokeMessageType,
			Value: "qlikbot cannot tell who you are (no Azure AD object id), so it cannot act on this click."})
		return
	}
	req.Action = &bot.Action{ID: click.Action, Value: click.Value, MessageRef: act.ReplyToID}
	replies := &invokeReplies{next: req.ReplyTo}
	req.ReplyTo = replies

	// The work must not die with the HTTP request when it runs late.
	workCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lateWorkTimeout)
	done := make(chan bot.Reply, 1)
	go func() { done <- a.d.Do(workCtx, req) }()
	timer := time.NewTimer(a.invokeDeadline)
	defer timer.Stop()
	select {
	case rep := <-done:
		cancel()
		if rep.IsEmpty() {
			// The handler answered through ReplyTo: the last card it
			// meant for the clicked one (a job's "interrupted" notice)
			// was held back while the invoke was open; it is the answer.
			rep = replies.held()
		}
		writeInvoke(w, a.answerInvoke(ctx, req, rep))
	case <-ctx.Done():
		// Teams hung up: finish the work and update the card.
		replies.answered.Store(true)
		go a.finishLate(workCtx, cancel, req, done)
	case <-timer.C:
		replies.answered.Store(true)
		writeInvoke(w, invokeResponse{StatusCode: http.StatusOK, Type: cardContentType,
			Value: render(bot.Reply{Kind: bot.Pending, Title: "Working on it …",
				Summary: []string{"This card will show the outcome when it is done."}})})
		go a.finishLate(workCtx, cancel, req, done)
	}
}

// invokeReplies is the ReplyTo of an Action.Execute click. Until the
// invoke is answered, a reply that replaces the clicked card (a progress
// update of a long approval) is dropped: the answer in the HTTP body
// replaces the card for the clicker only, so an interim card sent to
// everyone meanwhile would stay behind for the others. Once the invoke is
// answered with "working on it" (or Teams gave up waiting), replies pass:
// the outcome follows as an update for everyone. Other replies always pass.
type invokeReplies struct {
	next     bot.Responder
	answered atomic.Bool

	mu   sync.Mutex
	last bot.Reply // the last replacing reply held back
}

func (r *invokeReplies) Respond(ctx context.Context, rep bot.Reply) error {
	if rep.ReplaceOriginal && !r.answered.Load() {
		r.mu.Lock()
		r.last = rep
		r.mu.Unlock()
		return nil
	}
	return r.next.Respond(ctx, rep)
}

// held returns the last replacing reply held back (empty when none).
func (r *invokeReplies) held() bot.Reply {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// finishLate waits for a slow invoke and puts its outcome on the card
// that now says "working on it".
func (a *Adapter) finishLate(ctx context.Context, cancel context.CancelFunc, req bot.Request, done <-chan bot.Reply) {
	defer cancel()
	var rep bot.Reply
	select {
	case rep = <-done:
	case <-ctx.Done():
		rep = bot.Reply{Kind: bot.Error, Title: "The action did not finish in time", Summary: []string{"Request " + req.ID + "."}}
	}
	if rep.IsEmpty() {
		// The handler answered through ReplyTo itself, after the invoke
		// was answered: its last reply is on the card (a job's notice
		// that it goes on elsewhere, whose outcome comes later). A
		// "Done" now could cover that outcome.
		return
	}
	rep.ReplaceOriginal = true // the "working on it" card must not stay
	if err := req.ReplyTo.Respond(context.WithoutCancel(ctx), rep); err != nil {
		a.log.ErrorContext(ctx, "teams: deliver late invoke outcome", "request", req.ID, "err", err)
	}
}

// invokeAnswer turns a reply into the invoke response body.
func invokeAnswer(rep bot.Reply, links []fileLink) invokeResponse {
	if rep.IsEmpty() {
		// The handler answered through ReplyTo itself.
		return invokeResponse{StatusCode: http.StatusOK, Type: invokeMessageType, Value: "Done."}
	}
	if rep.ReplaceOriginal {
		return invokeResponse{StatusCode: http.StatusOK, Type: cardContentType, Value: renderCard(rep, links)}
	}
	return invokeResponse{StatusCode: http.StatusOK, Type: invokeMessageType, Value: clip(bot.PlainText(rep), 4000)}
}

func writeInvoke(w http.ResponseWriter, resp invokeResponse) {
	b, err := json.Marshal(resp)
	if err != nil {
		http.Error(w, "cannot encode invoke response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
