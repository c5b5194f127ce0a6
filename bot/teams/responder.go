package teams

import (
	"context"
	"fmt"

	"github.com/qlikbot/qlikbot/bot"
)

// responder delivers the replies of one request to its conversation. It
// only ever sends to the serviceUrl of the authenticated activity it was
// made for.
type responder struct {
	conn *connector
	ref  conversationRef
	// links publishes the reply's files for download buttons.
	links func(ctx context.Context, files []bot.File) []fileLink
	// threadID is the activity replies are threaded under.
	threadID string
	// cardID is the card a click came from: ReplaceOriginal updates it.
	cardID string
}

func (a *Adapter) responder(act activity) *responder {
	r := &responder{
		conn:     a.conn,
		links:    a.links,
		ref:      conversationRef{ServiceURL: act.ServiceURL, ConversationID: act.Conversation.ID},
		threadID: act.ID,
		cardID:   act.clickedCard(),
	}
	if act.ReplyToID != "" {
		r.threadID = act.ReplyToID // answer a click next to its card, not to the click
	}
	return r
}

// Respond posts the reply as a card, or replaces the clicked card when the
// reply asks for it. Teams has no ephemeral messages for bots: ephemeral
// replies are posted like the others (personal chats are private anyway).
func (r *responder) Respond(ctx context.Context, rep bot.Reply) error {
	act := cardActivity(renderCard(rep, r.links(ctx, rep.Files)), rep.Title)
	if rep.ReplaceOriginal && r.cardID != "" {
		if err := r.conn.update(ctx, r.ref, r.cardID, act); err != nil {
			return fmt.Errorf("teams: update card: %w", err)
		}
		return nil
	}
	if _, err := r.conn.post(ctx, r.ref, r.threadID, act); err != nil {
		return fmt.Errorf("teams: post reply: %w", err)
	}
	return nil
}
