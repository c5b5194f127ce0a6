// Package watch is qlikbot's watcher: every interval it samples each Qlik
// Sense site (sessions per virtual proxy and node, users by session
// count, every engine's health), keeps the samples in the store's history
// (store.AppendSample), and raises, updates and resolves the alerts of
// the policy's rules (authz.AlertRule), posting them through the chat
// adapters (bot.Deliverer) like any other reply.
//
// Exactly one watcher runs across replicas: the one holding the store's
// lease "watcher" (store.WatchLease). Its fencing token guards every
// write (AppendSample, PutAlert), so a watcher that lost the lease (paused,
// partitioned) can neither write a sample nor post an alert. The lease
// lasts an interval and a half and is renewed every interval; the other
// replicas try to take it every quarter interval, so when its holder dies
// another replica samples within two intervals. Run releases the lease
// when it stops, and a standby takes over at its next try.
//
// Alerts follow Alertmanager: one per rule and site (store.AlertKey),
// whose message lists what fires (the users at the limit, the nodes
// down...) and is updated in place when that changes (not when figures
// do), marked resolved when it clears, and posted anew after the rule's
// repeat interval or when a silence that held it ends. A notification is
// claimed in the store before it is posted: the alert is written with an
// entry per target and no destination yet, under the lease and a
// compare-and-set on its version, and only the writer that wins posts;
// the destinations of the messages posted are written after. A restart or
// a second replica therefore never posts one twice; a post lost to a crash
// between the two writes is not retried before the next notification. A
// channel that subscribes while an alert fires gets it at the next sample.
//
// Where alerts go: the rule's Slack channels and Teams conversations, the
// console, and the channels that subscribed (store.Subscription, written
// by commands). Destinations kept in the store are sealed under the state
// key (SealDestination): a Teams destination names the service URL that
// receives the bot's token.
//
// Rule verdicts: a rule whose data the reading lacks (the site or one of
// its nodes did not answer, and nothing fires) neither fires nor resolves.
// "Not answering for N samples" is counted by the holder; a new holder
// counts from its first sample.
//
// The figures: a sample holds sessions per virtual proxy and node, users
// and users at the access-pass limit per virtual proxy and for the site,
// and seven figures per engine (see the Metric constants). Virtual proxies
// are named by ProxyLabel, nodes by name. The observer (WithObserver) gets
// every reading, for Prometheus gauges.
package watch
