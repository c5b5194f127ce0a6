package teams

import "github.com/qlikbot/qlikbot/bot"

// ConversationDestination is where a proactive message goes for a
// conversation reference written by an operator (an alert rule's Teams
// channel): the service URL, the tenant and the conversation id, in the
// adapter's own spelling (see origin). Deliver checks it like any other.
func ConversationDestination(serviceURL, tenant, conversation string) bot.Destination {
	return origin(serviceURL, tenant, conversation, "")
}
