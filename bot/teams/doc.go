// Package teams is the Microsoft Teams adapter: it authenticates every
// activity the Bot Framework POSTs to /api/messages (RS256 JWT checked
// against cached OpenID/JWKS keys, issuer, audience, exp/nbf with 5 min
// skew, serviceUrl and key endorsements), turns messages, Action.Submit
// clicks, Action.Execute invokes and conversation updates into
// bot.Requests, renders bot.Replies as Adaptive Cards and sends them
// through its own Bot Connector client (single-tenant client-credentials
// token, per-conversation rate limit, retries with backoff).
//
// Choices worth knowing:
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
