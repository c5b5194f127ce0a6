package teams

import (
	"context"
	"net/http"
	"strings"

	"github.com/qlikbot/qlikbot/bot"
)

// placeholderURL stands for a download link while a page is fitted: the
// real link is made only when the reply is sent. Longer real links are
// covered by fitReserve.
var placeholderURL = "https://" + strings.Repeat("x", 240)

// fit is bot.Request.Fit for this adapter: the rows that fit in a card
// with the download buttons the reply's files will get.
func (a *Adapter) fit(r bot.Reply) int {
	var links []fileLink
	if a.publish != nil {
		for _, f := range r.Files[:min(len(r.Files), maxFileLinks)] {
			links = append(links, fileLink{Name: f.Name, URL: placeholderURL, Image: isImage(f)})
		}
	}
	return fitRows(r, links)
}

// answerInvoke turns the reply to an Action.Execute click into the invoke
// response:
//   - a reply that replaces the clicked card (an approval's outcome): that
//     card, in the body (the body shows it to the clicker only: see
//     updateForAll);
//   - a reply for the conversation (an approval request chosen from a
//     menu): posted as a new card for everyone, and the clicker told so;
//   - a reply for the clicker only that holds a list or choices (the next
//     page): its card in the body, which Teams shows the clicker in place
//     of the clicked card while the others keep theirs;
//   - anything else (a denial, a usage error): a message to the clicker.
func (a *Adapter) answerInvoke(ctx context.Context, req bot.Request, direct bot.Responder, rep bot.Reply) invokeResponse {
	switch {
	case rep.IsEmpty():
		// The handler answered through ReplyTo itself.
	case rep.ReplaceOriginal || (rep.Visibility == bot.Ephemeral && needsCard(rep)):
		return invokeResponse{StatusCode: http.StatusOK, Type: cardContentType, Value: renderCard(rep, a.links(ctx, rep.Files))}
	case rep.Visibility == bot.InChannel:
		if err := direct.Respond(ctx, rep); err != nil {
			a.log.ErrorContext(ctx, "teams: post the answer to a click", "request", req.ID, "err", err)
			return invokeAnswer(rep)
		}
		return invokeResponse{StatusCode: http.StatusOK, Type: invokeMessageType, Value: "Posted: " + bot.Clip(rep.Title, maxTitleRunes)}
	}
	return invokeAnswer(rep)
}

// updateForAll: a reply that replaces the clicked card for the
// conversation (an approval's outcome). The invoke body shows it to the
// clicker only, so onInvoke also updates the card for everyone once the
// body is out.
func updateForAll(rep bot.Reply) bool {
	return rep.ReplaceOriginal && rep.Visibility == bot.InChannel
}

// needsCard: a reply whose table, menus or buttons a text message cannot
// carry.
func needsCard(r bot.Reply) bool {
	return r.Table != nil || len(r.Menus) > 0 || len(r.Buttons) > 0
}
