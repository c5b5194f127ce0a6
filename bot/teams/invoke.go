package teams

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
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
	// Until this click's own update of the card is out, Deliveries to the
	// card (a background job's progress and outcome) wait: see cardGates.
	release := a.cards.hold(cardKey{act.Conversation.ID, act.ReplyToID})

	// The work must not die with the HTTP request when it runs late.
	workCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lateWorkTimeout)
	done := make(chan bot.Reply, 1)
	go func() { done <- a.d.Do(workCtx, req) }()
	timer := time.NewTimer(a.invokeDeadline)
	defer timer.Stop()
	select {
	case rep := <-done:
		defer release()
		cancel()
		if rep.IsEmpty() {
			// The handler answered through ReplyTo: the last card it
			// meant for the clicked one (a job's "interrupted" notice)
			// was held back while the invoke was open; it is the answer.
			rep = replies.take()
		}
		replies.answer() // anything later goes straight to the conversation
		writeInvoke(w, a.answerInvoke(ctx, req, replies.next, rep))
		if updateForAll(rep) {
			// After the body: the clicker is not kept waiting on the
			// connector's retries.
			if err := http.NewResponseController(w).Flush(); err != nil {
				a.log.DebugContext(ctx, "teams: invoke answer not flushed", "err", err)
			}
			if err := replies.next.Respond(context.WithoutCancel(ctx), rep); err != nil {
				a.log.ErrorContext(ctx, "teams: update the clicked card for the conversation", "request", req.ID, "err", err)
			}
		}
	case <-ctx.Done():
		// Teams hung up: finish the work and update the card.
		replies.answer()
		go a.finishLate(workCtx, cancel, req, replies, release, done)
	case <-timer.C:
		replies.answer()
		writeInvoke(w, invokeResponse{StatusCode: http.StatusOK, Type: cardContentType,
			Value: render(bot.Reply{Kind: bot.Pending, Title: "Working on it …",
				Summary: []string{"This card will show the outcome when it is done."}})})
		go a.finishLate(workCtx, cancel, req, replies, release, done)
	}
}

// invokeReplies is the ReplyTo of an Action.Execute click. Until the
// invoke is answered, a reply that replaces the clicked card (a progress
// update of a long approval) is dropped: the answer in the HTTP body
// replaces the card for the clicker only, so an interim card sent to
// everyone meanwhile would stay behind for the others. Once the invoke is
// answered with "working on it" (or Teams gave up waiting), replies pass:
// the outcome follows as an update for everyone, and the last one held
// back is sent first (flush) unless a later replacing reply covers it.
// Other replies always pass.
type invokeReplies struct {
	next bot.Responder

	// send orders what goes to next once the invoke is answered: the
	// held reply before later ones.
	send sync.Mutex

	mu       sync.Mutex
	answered bool
	last     bot.Reply // the last replacing reply held back
}

func (r *invokeReplies) Respond(ctx context.Context, rep bot.Reply) error {
	r.mu.Lock()
	if rep.ReplaceOriginal && !r.answered {
		r.last = rep
		r.mu.Unlock()
		return nil
	}
	r.mu.Unlock()
	r.send.Lock()
	defer r.send.Unlock()
	if rep.ReplaceOriginal {
		r.mu.Lock()
		r.last = bot.Reply{} // covered by this one
		r.mu.Unlock()
	}
	return r.next.Respond(ctx, rep)
}

// answer records that the invoke was answered: replies pass from now on.
func (r *invokeReplies) answer() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answered = true
}

// take returns the last replacing reply held back (empty when none) and
// forgets it.
func (r *invokeReplies) take() bot.Reply {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := r.last
	r.last = bot.Reply{}
	return rep
}

// flush sends the reply held back before the invoke was answered, if no
// later one covered it.
func (r *invokeReplies) flush(ctx context.Context) error {
	r.send.Lock()
	defer r.send.Unlock()
	if rep := r.take(); !rep.IsEmpty() {
		return r.next.Respond(ctx, rep)
	}
	return nil
}

// finishLate puts on the card that now says "working on it" the reply
// held back before (a notice sent just before the deadline), then waits
// for the slow invoke and puts its outcome there. Deliveries to the card
// wait (release) until the held reply is out.
func (a *Adapter) finishLate(ctx context.Context, cancel context.CancelFunc, req bot.Request, replies *invokeReplies, release func(), done <-chan bot.Reply) {
	defer cancel()
	defer release()
	if err := replies.flush(context.WithoutCancel(ctx)); err != nil {
		a.log.ErrorContext(ctx, "teams: deliver a held reply after the invoke", "request", req.ID, "err", err)
	}
	release()
	var rep bot.Reply
	select {
	case rep = <-done:
	case <-ctx.Done():
		rep = bot.Reply{Kind: bot.Error, Title: "The action did not finish in time", Summary: []string{"Request " + req.ID + "."}}
	}
	if rep.IsEmpty() {
		// The handler answered through ReplyTo itself: its last reply is
		// on the card (a job's notice that it goes on elsewhere, whose
		// outcome comes later). A "Done" now could cover that outcome.
		return
	}
	rep.ReplaceOriginal = true // the "working on it" card must not stay
	if err := req.ReplyTo.Respond(context.WithoutCancel(ctx), rep); err != nil {
		a.log.ErrorContext(ctx, "teams: deliver late invoke outcome", "request", req.ID, "err", err)
	}
}

// invokeAnswer turns a reply that is not a card into the invoke
// response's message to the clicker.
func invokeAnswer(rep bot.Reply) invokeResponse {
	if rep.IsEmpty() {
		// The handler answered through ReplyTo itself.
		return invokeResponse{StatusCode: http.StatusOK, Type: invokeMessageType, Value: "Done."}
	}
	return invokeResponse{StatusCode: http.StatusOK, Type: invokeMessageType, Value: bot.Clip(bot.PlainText(rep), 4000)}
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
