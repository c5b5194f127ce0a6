// Package teams is the Microsoft Teams adapter: it authenticates every
// activity the Bot Framework POSTs to /api/messages (RS256 JWT checked
// against cached OpenID/JWKS keys, issuer, audience, exp/nbf with 5 min
// skew, serviceUrl and key endorsements), admits only channel "msteams"
// and the bot's own tenant (channelData.tenant.id), turns messages, Action.Submit
// clicks, Action.Execute invokes and conversation updates into
// bot.Requests, renders bot.Replies as Adaptive Cards and sends them
// through its own Bot Connector client (single-tenant client-credentials
// token, per-conversation rate limit, retries with backoff).
//
// Choices worth knowing:
//   - The tenant check compares GUIDs. A TenantID configured as a domain
//     (contoso.onmicrosoft.com) is resolved to its GUID from the "tid" of
//     the bot's own connector token; until then activities get 503.
//   - Request.Channel is the conversation id without ";messageid=...":
//     grants and rate limits apply to a channel, not to one thread of it.
//     Replies still go to the thread.
//   - The sender's e-mail comes from the member roster
//     (GET {serviceUrl}/v3/conversations/{id}/members/{userId}), cached
//     (WithUserEmails); guests and mismatched entries get none.
//   - Buttons are Action.Execute with an Action.Submit fallback; both carry
//     only {action, value}. An Execute click is answered in the HTTP body:
//     a reply that replaces the original becomes the new card, anything
//     else (a denial) is a message to the clicker and the card stays.
//   - Teams has no ephemeral bot messages: ephemeral replies are posted.
//   - Files (the CSV of a long list) are not attached: bots may send files
//     only through a consent card in personal chat. With WithFileLinks the
//     card gets an Action.OpenUrl download link to the published file;
//     without it, or when publishing fails, the card says how many rows it
//     leaves out and how to narrow the query.
//
// From msbotbuilder-go only the schema types are used: its validator,
// token client and adapter cannot serve a single-tenant bot safely.
package teams
