package main

import (
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/bot/teams"
	"github.com/qlikbot/qlikbot/commands"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/watch"
)

// The watcher (package watch): every QLIKBOT_WATCH_INTERVAL the replica
// holding the store's "watcher" lease samples every site, keeps the
// history, sets the gauges and posts the alerts of the rules of
// QLIKBOT_ALERTS, or of the policy.

// buildAlertRules reads QLIKBOT_ALERTS, when set: its rules then hold
// instead of the policy's alerts section.
func (a *app) buildAlertRules() error {
	if a.cfg.Alerts == "" {
		return nil
	}
	const want = "a YAML file with an alerts: section (rules with name, type, thresholds, post), as in authz/demo-policy.yaml"
	rules, err := authz.LoadAlertsFile(a.cfg.Alerts)
	if err != nil {
		if _, rerr := readSettingFile("QLIKBOT_ALERTS", a.cfg.Alerts, want); rerr != nil {
			return rerr
		}
		return badFile("QLIKBOT_ALERTS", a.cfg.Alerts, err, want)
	}
	a.alertRules = func() []authz.AlertRule { return rules }
	return nil
}

// rules are the alert rules in force: QLIKBOT_ALERTS's, or the current
// policy's (reloaded while qlikbot runs).
func (a *app) rules() []authz.AlertRule {
	if a.alertRules != nil {
		return a.alertRules()
	}
	return a.authz.Policy().Alerts()
}

// watchEngineOptions turn on the watcher's commands (subscribe, alerts,
// trend) when the watcher runs.
func (a *app) watchEngineOptions() []commands.Option {
	if a.cfg.WatchInterval == 0 {
		return nil
	}
	return []commands.Option{commands.WithWatch(a.store, a.alertRules)}
}

// buildWatcher makes the watcher of every site; nil when
// QLIKBOT_WATCH_INTERVAL is 0.
func (a *app) buildWatcher() error {
	if a.cfg.WatchInterval == 0 {
		return nil
	}
	sites := make([]watch.Site, len(a.sites))
	for i, s := range a.sites {
		// Through the metrics' wrapper: a sample sets the sessions-seen
		// and engine gauges as /qlik sessions and health do.
		sites[i] = watch.Site{Name: s.settings.name, Qlik: observedQlik{s.client, a.metrics, s.settings.name}}
	}
	w, err := watch.New(sites, a.store, a.engine.AlertReply,
		watch.WithInterval(a.cfg.WatchInterval),
		watch.WithLogger(a.log.With("component", "watcher")),
		watch.WithRules(a.rules),
		watch.WithDeliverer(a.deliverers),
		watch.WithSealer(a.sealer),
		watch.WithObserver(a.metrics.observeReading),
		watch.WithTeamsDestination(func(c authz.TeamsConversation) bot.Destination {
			return teams.ConversationDestination(c.ServiceURL, c.Tenant, c.Conversation)
		}))
	if err != nil {
		return configErr("watcher: %v", err)
	}
	a.watcher = w
	return nil
}

// Bounds of QLIKBOT_WATCH_INTERVAL: a sample asks every pair of every
// site, so more often than every second would load Qlik for little.
const (
	minWatchInterval = time.Second
	maxWatchInterval = time.Hour
)

func (c Config) checkWatch() error {
	if c.WatchInterval != 0 && (c.WatchInterval < minWatchInterval || c.WatchInterval > maxWatchInterval) {
		return badSetting("QLIKBOT_WATCH_INTERVAL", c.WatchInterval.String(), "", "a duration from 1s to 1h like 60s, or 0 to turn the watcher off")
	}
	if c.HistoryRaw < store.AggregateStep {
		return badSetting("QLIKBOT_HISTORY_RAW", c.HistoryRaw.String(), "", "a duration of at least 5m like 24h")
	}
	if c.HistoryKeep < c.HistoryRaw {
		return badSetting("QLIKBOT_HISTORY_KEEP", c.HistoryKeep.String(), "shorter than QLIKBOT_HISTORY_RAW ("+c.HistoryRaw.String()+")",
			"a duration at least as long as QLIKBOT_HISTORY_RAW, like 168h")
	}
	return nil
}
