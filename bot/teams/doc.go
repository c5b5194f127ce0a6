// Package teams is the Microsoft Teams adapter: it authenticates every
// activity the Bot Framework POSTs to /api/messages (RS256 JWT checked
// against cached OpenID/JWKS keys, issuer, audience, serviceUrl and key
// endorsements), turns messages, Action.Submit clicks, Action.Execute
// invokes and conversation updates into bot.Requests, renders bot.Replies as
// Adaptive Cards and sends them through its own Bot Connector client
// (single-tenant client-credentials token, per-conversation rate limit,
// retries with backoff).
//
// From msbotbuilder-go only the schema types are used: its validator,
// token client and adapter cannot serve a single-tenant bot safely.
package teams
