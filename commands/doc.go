// Package commands is qlikbot's brain, shared by every chat platform: it
// parses the /qlik language, asks authz who may do what, runs the Qlik
// calls, keeps pending approvals and the audit trail in the store, and
// answers with a bot.Reply. It never imports a platform package.
//
// Grammar (see Parse and "help"):
//
//	help [COMMAND]
//	sessions [PREFIX ...] [--proxy HOST ...] [--user DIR\ID] [--sort FIELD] [--page N]
//	users    [PREFIX ...] [--min N] [--page N]
//	proxies
//	health   [NODE ...]
//	delete   PREFIX SESSION ...
//	kick     PREFIX [--proxy HOST ...]
//	kick     --user DIR\ID [PREFIX ...] [--proxy HOST ...]
//	jobs
//	audit    [N] [--user WHO] [--action ACTION] [--since WHEN]
//	whoami
//	trend    [PREFIX ...] [--since WHEN] [--by proxy|node]
//	alerts
//	subscribe [RULE ...]
//	unsubscribe
//
// Every command but help takes --site NAME (see sites.go).
//
// Choices worth knowing:
//   - The default virtual proxy (prefix "") is written default, "" or -.
//     A virtual proxy whose prefix is literally "default" (or "-") is
//     written =default: a leading "=" always means "this exact prefix".
//   - Flags take --flag value or --flag=value. Every value is validated
//     before any Qlik call: prefixes [A-Za-z0-9._~-]{1,64} but not "." or
//     "..", RFC 1123 host names, DIR\ID without / \ % ? # spaces or control
//     characters, sessions as handles or full ids (see below).
//   - A Qlik session id is a credential (its user's session cookie), so no
//     reply, CSV, log line or audit event of this package holds one in
//     full: each shows a handle, the id's lower-case hex digits without
//     dashes, the first 8, lengthened by 4 at a time (at most 16) only
//     where two ids of the same result would otherwise share one. The
//     result is every row of it (not just the page), so the page, the CSV
//     and the later pages agree. A full id typed in a command is cut to
//     its handle before the command is audited or logged. delete takes
//     handles (8 or more hex digits, dashes optional) or full ids and
//     resolves them among the sessions the caller may end; a handle that
//     matches none or several refuses the whole command (nothing is
//     ended) and the reply lists each problem, naming the users an
//     ambiguous handle could be. Full ids are kept only in the sealed
//     approval snapshots in the store.
//   - Lists (sessions, users, proxies) are posted in the channel, since
//     on-call visibility is the point, and stay private when asked in a
//     direct message. Denials, usage errors, whoami and audit are private.
//     A paging button shows the next page to the clicker only.
//   - Only what the caller may List is asked of Qlik: the selection is cut
//     to the permitted (virtual proxy, node) pairs before the call.
//   - Destructive commands (delete, kick) act on the permitted pairs only
//     and say what was left out. A kick (and kick --user) snapshots the
//     session ids the requester saw; the approval ends exactly those
//     (one DELETE per session), never "whatever is there now", so kick
//     --user deletes the snapshot rather than calling the QPS user logout.
//   - Pending approvals are sealed (store/seal, HMAC-SHA256 under the
//     state key, WithSealer) with the requester, scope, targets, creation
//     and expiry inside, and verified whenever they are read back: a
//     forged or altered record (or one whose store times differ from the
//     sealed ones) is refused, audited as "tamper", shown to the clicker
//     as "cannot be verified; nothing was done", and never claimed. A
//     sealed record is still checked as if typed before its targets reach
//     a URL.
//   - Approve needs the approve right on every (virtual proxy, node) of
//     the action and someone other than the requester (two-person rule,
//     compared on every subject including the verified email). The
//     requester or an approver may reject. The store's Claim makes a
//     decision happen exactly once across replicas.
//   - An approved action is a durable job (job.go): StartJob claims the
//     approval, records the sealed job (targets, approver, where to
//     report: the click's Request.Origin) and writes the command and
//     approve audit rows in one store write before the first DELETE.
//     Deletes run in batches of 50, two in flight; each batch's outcomes
//     and its audit rows are one write fenced by the job's lease, renewed
//     in the background (a lost lease stops the run at once). ResumeJobs
//     (cmd calls it at start and every 10 s) carries on jobs nobody runs,
//     deleting only what no batch records, and delivers the outcome to the
//     approval message through a bot.Deliverer. StopJobs (SIGTERM) stops
//     them after their batches in flight, says so on the message and
//     releases their leases. /qlik jobs lists them.
//   - A job of more than 100 sessions (WithProgress) runs in the
//     background when the engine has a Deliverer (WithDeliverer, jobbg.go):
//     the approval is answered with its first progress message and no
//     dispatcher worker waits for the deletes. It updates the approval
//     message in place at most every 5 s by the engine's clock. Progress
//     goes out on its own goroutine and a chance is skipped while the
//     previous update is still on its way, so the chat platform's pace
//     wins and the deletes never wait for it; each update must land before
//     the job's lease runs out, and the outcome is sent after the last one,
//     so no progress overwrites an outcome. Only a click gets progress (a
//     typed approve has no message to update).
//   - Several sites (WithSites): sessions, users, proxies and health
//     without --site ask every site the caller holds a grant on, at once,
//     and merge the answers (a Site column when more than one site is
//     shown; a site that does not answer is a warning and the others'
//     rows are shown); the other commands act on the default site. An
//     approval, its deletes, its audit rows and the handles it shows
//     belong to one site; handles are unique within their site.
//   - health asks each engine node's health check (qlik.Client.Health):
//     the health right is asked per node on every virtual proxy ("*"),
//     and only permitted nodes are asked. Warnings: a node not answering,
//     saturated, CPU at or above the site's threshold, free memory under
//     it (Site.CPUWarn, Site.MemFreeWarn; defaults 90% and 10%).
//   - audit needs the audit right on every virtual proxy (scope "*"): the
//     trail covers them all; with several sites, on every site too, or,
//     with --site S, on S (and shows S's rows only). Its filters run here over the newest 5000
//     events (a bounded scan); reads of the trail itself are left out
//     unless --action audit. Rows are shortened to fit a 120-column
//     console; the subject is always written as the platform gave it.
//   - The watcher's commands (WithWatch; package watch samples in the
//     background): subscribe stores the channel's destination sealed
//     with the state key (for Teams, the conversation reference of
//     Request.Origin); alerts lists what fires for those who may list
//     every virtual proxy of the site; trend draws the history (package
//     chart), only the virtual proxies (and nodes) the caller may list.
//     AlertReply renders the watcher's alert messages: Silence buttons
//     (the subscribe right, audited as "silence") and, for users at the
//     limit, Kick buttons that run "kick --user" as typed, approval and
//     all.
//   - Every request leaves one "command" row in the audit trail with its
//     decision (and, unless it acted, its outcome), written before
//     anything is deleted, requested or claimed; then a row per approval
//     step, per deleted session and per finished job. An action whose
//     rows cannot be written does not start ("State store unavailable
//     ... nothing was done"); a row about what is already done that fails
//     is logged at error level and never undoes it.
package commands
