package main

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/seal"
)

// The one-line errors: the variable, its value, what is wrong and what it
// takes instead, so an operator can fix it without reading code.

// badSetting is the error for a value qlikbot cannot use.
func badSetting(name, value, problem, want string) error {
	if problem != "" {
		problem = ": " + problem
	}
	return configErr("%s=%q%s; want %s", name, value, problem, want)
}

// badFile is badSetting for a file whose content is wrong: err (from the
// parser) names the mistake and, when it ends in "; want ...", says what
// it takes already, so want is not said a second time.
func badFile(name, path string, err error, want string) error {
	if msg := err.Error(); strings.Contains(msg, "; want ") {
		return configErr("%s=%q: %s", name, path, msg)
	}
	return badSetting(name, path, err.Error(), want)
}

// badSecret is badSetting for a secret: its value is never repeated.
func badSecret(name, problem, want string) error {
	return configErr("%s (value not shown): %s; want %s", name, problem, want)
}

// missingSetting is the error for a setting that must be set and is not.
func missingSetting(name, why, want string) error {
	return configErr("%s is not set: %s; want %s", name, why, want)
}

var (
	// consoleUserRE is what the console accepts after /as (bot/console).
	consoleUserRE = regexp.MustCompile(`^[A-Za-z0-9._@\\-]{1,64}$`)
	guidRE        = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	tenantRE      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*$`)
)

// validate checks what can be checked without touching the network or
// the files named; newApp checks those.
func (c Config) validate() error {
	for _, check := range []func() error{c.checkQlik, c.checkStore, c.checkSlack, c.checkTeams, c.checkServing, c.checkLimits, c.checkWatch} {
		if err := check(); err != nil {
			return err
		}
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return err
	}
	switch c.LogFormat {
	case "auto", "json", "text":
	default:
		return badSetting("QLIKBOT_LOG_FORMAT", c.LogFormat, "", "json, text or auto")
	}
	return nil
}

func (c Config) checkQlik() error {
	if c.Sites != "" && c.QlikHost != "" {
		return badSetting("QLIKBOT_SITES", c.Sites, "QLIKBOT_QLIK_HOST is set too ("+c.QlikHost+")",
			"one of them: the sites file lists every site with its host, or QLIKBOT_QLIK_HOST alone is the one site")
	}
	if !c.Demo() {
		if c.Policy == "" {
			return missingSetting("QLIKBOT_POLICY", "it is required with QLIKBOT_QLIK_HOST or QLIKBOT_SITES (deny by default: without a policy nobody may do anything)",
				"the path of a policy file like authz/demo-policy.yaml")
		}
		if c.Sites == "" && !validHost(c.QlikHost) {
			return badSetting("QLIKBOT_QLIK_HOST", c.QlikHost, "", "the host name of the Qlik Sense central node like qlik.example.com, without scheme or port (the port is QLIKBOT_QLIK_QRS_PORT)")
		}
	}
	for _, p := range []struct {
		name string
		port int
	}{{"QLIKBOT_QLIK_QRS_PORT", c.QlikQRSPort}, {"QLIKBOT_QLIK_QPS_PORT", c.QlikQPSPort}} {
		if !qlik.ValidPort(p.port) {
			return badSetting(p.name, strconv.Itoa(p.port), "not a port", portWant)
		}
	}
	if c.QlikEnginePort != 0 && !qlik.ValidPort(c.QlikEnginePort) {
		return badSetting("QLIKBOT_QLIK_ENGINE_PORT", strconv.Itoa(c.QlikEnginePort), "not a port", portWant+", or 0 for the port QRS reports")
	}
	if !validCPUWarn(c.HealthCPU) {
		return badSetting("QLIKBOT_HEALTH_CPU_WARN", fmt.Sprint(c.HealthCPU), "", cpuWarnWant)
	}
	if !validMemFreeWarn(c.HealthMemFree) {
		return badSetting("QLIKBOT_HEALTH_MEM_FREE_WARN", fmt.Sprint(c.HealthMemFree), "", memFreeWarnWant)
	}
	if _, _, err := splitQlikUser(c.QlikUser); err != nil {
		return err
	}
	switch {
	case c.QlikTimeout <= 0:
		return badSetting("QLIKBOT_QLIK_TIMEOUT", c.QlikTimeout.String(), "", "a positive duration like 10s")
	case c.QlikConcurrency <= 0:
		return badSetting("QLIKBOT_QLIK_CONCURRENCY", strconv.Itoa(c.QlikConcurrency), "", "a positive whole number like 16")
	case c.QlikRPS <= 0:
		return badSetting("QLIKBOT_QLIK_RPS", fmt.Sprint(c.QlikRPS), "", "a positive number like 100")
	case c.QlikTopologyTTL < 0:
		return badSetting("QLIKBOT_QLIK_TOPOLOGY_TTL", c.QlikTopologyTTL.String(), "", topologyTTLWant)
	}
	return nil
}

const topologyTTLWant = "a duration like 30s, or 0 to read the topology afresh for every command"

// qlikTopologyTTL maps the setting (0: no cache) to qlik.Config's
// TopologyTTL, where 0 is the default and a negative value no cache.
func qlikTopologyTTL(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// The checks a setting and a site of QLIKBOT_SITES share, and what each
// error says they take.
const (
	portWant        = "a TCP port from 1 to 65535"
	cpuWarnWant     = "a percent above 0 and at most 100, like 90"
	memFreeWarnWant = "a percent above 0 and under 100, like 10"
	userWant        = `DIR\ID like INTERNAL\sa_api`
)

func validCPUWarn(p float64) bool     { return p > 0 && p <= 100 }
func validMemFreeWarn(p float64) bool { return p > 0 && p < 100 }

// parseQlikUser splits DIR\ID; ok is false unless both parts are there.
func parseQlikUser(s string) (dir, id string, ok bool) {
	dir, id, ok = strings.Cut(s, `\`)
	return dir, id, ok && dir != "" && id != ""
}

// resolveEntry checks one host-to-address entry and returns it trimmed.
func resolveEntry(host, addr string) (string, string, bool) {
	host, addr = strings.TrimSpace(host), strings.TrimSpace(addr)
	return host, addr, validHost(host) && addr != ""
}

// validHost accepts a DNS name or an IP address, nothing around it.
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	return h != "" && !strings.ContainsAny(h, ":/@?# \t") && !strings.HasPrefix(h, ".")
}

// storeTarget says which backend a QLIKBOT_STORE value names, read the way
// store.Open reads it: "bolt" with the file's path, "redis" or "rediss",
// or "" for a scheme store.Open refuses. Empty is the default bolt file.
func storeTarget(raw string) (kind, path string) {
	scheme, rest, ok := strings.Cut(raw, "://")
	switch {
	case raw == "":
		return "bolt", defaultStateFile
	case !ok:
		return "bolt", raw
	case strings.EqualFold(scheme, "bolt"):
		return "bolt", rest
	case strings.EqualFold(scheme, "redis"):
		return "redis", ""
	case strings.EqualFold(scheme, "rediss"):
		return "rediss", ""
	}
	return "", ""
}

// defaultStateFile is the bolt file outside the demo when QLIKBOT_STORE is
// empty, in the working directory.
const defaultStateFile = "qlikbot.db"

func (c Config) checkStore() error {
	kind, _ := storeTarget(c.Store)
	if kind == "" {
		return badSetting("QLIKBOT_STORE", store.RedactURL(c.Store), "unsupported scheme",
			"bolt:///path/state.db, a file path, or redis://[user:password@]host:6379/0 (rediss:// for TLS)")
	}
	if c.StoreCA != "" && kind != "rediss" {
		return badSetting("QLIKBOT_STORE_CA", c.StoreCA, "only a rediss:// store (Redis over TLS) uses a CA file",
			"QLIKBOT_STORE=rediss://host:6380/0 with it, or no QLIKBOT_STORE_CA")
	}
	if _, _, err := c.stateKeys(); err != nil {
		return err
	}
	if kind != "bolt" && c.StateKey == "" {
		return missingSetting("QLIKBOT_STATE_KEY", "a Redis store needs it: every replica signs and checks pending approvals with the same key",
			"the same secret on every replica, made once with: openssl rand -base64 32")
	}
	return nil
}

const keyForm = "at least 32 random bytes as base64 or hex (openssl rand -base64 32)"

// stateKeys parses QLIKBOT_STATE_KEY (nil when unset) and
// QLIKBOT_STATE_OLD_KEYS. Errors never repeat a key.
func (c Config) stateKeys() (current []byte, old [][]byte, err error) {
	if c.StateKey != "" {
		if current, err = seal.ParseKey(c.StateKey.Reveal()); err != nil {
			return nil, nil, badSecret("QLIKBOT_STATE_KEY", err.Error(), keyForm)
		}
	}
	if c.StateOldKeys == "" {
		return current, nil, nil
	}
	parts := strings.Split(c.StateOldKeys.Reveal(), ",")
	for i, p := range parts {
		if strings.TrimSpace(p) == "" {
			continue
		}
		k, err := seal.ParseKey(p)
		if err != nil {
			return nil, nil, badSecret("QLIKBOT_STATE_OLD_KEYS", fmt.Sprintf("key %d of %d: %v", i+1, len(parts), err),
				"a comma-separated list of earlier keys, each "+keyForm)
		}
		old = append(old, k)
	}
	return current, old, nil
}

func (c Config) checkSlack() error {
	if c.SlackMode != "" && c.SlackMode != "socket" && c.SlackMode != "http" {
		return badSetting("QLIKBOT_SLACK_MODE", c.SlackMode, "", "socket, http, or empty for no Slack")
	}
	if !strings.HasPrefix(c.SlackCommand, "/") || len(c.SlackCommand) < 2 || strings.ContainsAny(c.SlackCommand, " \t\n") {
		return badSetting("QLIKBOT_SLACK_COMMAND", c.SlackCommand, "", "the slash command as the Slack app defines it, like /qlik")
	}
	if c.SlackAPIURL != "" {
		u, err := url.Parse(c.SlackAPIURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return badSetting("QLIKBOT_SLACK_API_URL", shownURL(c.SlackAPIURL), "", "an http(s) URL like https://slack.com/api/, or empty for Slack's")
		}
	}
	if err := c.checkSlackTokens(); err != nil {
		return err
	}
	if c.SlackEmailCache < 0 {
		return badSetting("QLIKBOT_SLACK_EMAIL_CACHE", c.SlackEmailCache.String(), "", "a duration like 1h, or 0 to turn e-mail lookups off")
	}
	return nil
}

// checkSlackTokens checks the tokens the Slack mode needs (the adapter
// checks them again, in its own words).
func (c Config) checkSlackTokens() error {
	const botToken = "the app's Bot User OAuth Token (OAuth & Permissions), xoxb-..."
	const appToken = "an app-level token with connections:write (Basic Information), xapp-..."
	switch mode := c.SlackMode; {
	case mode == "":
		return nil
	case c.SlackBotToken == "":
		return missingSetting("QLIKBOT_SLACK_BOT_TOKEN", "Slack is on (QLIKBOT_SLACK_MODE="+mode+") and qlikbot answers with it", botToken)
	case !strings.HasPrefix(c.SlackBotToken.Reveal(), "xoxb-"):
		return badSecret("QLIKBOT_SLACK_BOT_TOKEN", "it does not start with xoxb-", botToken)
	case mode == "socket" && c.SlackAppToken == "":
		return missingSetting("QLIKBOT_SLACK_APP_TOKEN", "socket mode connects with it", appToken)
	case mode == "socket" && !strings.HasPrefix(c.SlackAppToken.Reveal(), "xapp-"):
		return badSecret("QLIKBOT_SLACK_APP_TOKEN", "it does not start with xapp-", appToken)
	case mode == "http" && c.SlackSigningSecret == "":
		return missingSetting("QLIKBOT_SLACK_SIGNING_SECRET", "HTTP mode checks every request's signature with it",
			"the app's Signing Secret (Basic Information > App Credentials)")
	}
	return nil
}

func (c Config) checkTeams() error {
	if c.TeamsAppID == "" {
		return nil
	}
	switch {
	case !guidRE.MatchString(c.TeamsAppID):
		return badSetting("QLIKBOT_TEAMS_APP_ID", c.TeamsAppID, "", "the Azure Bot's Microsoft App ID, a GUID like 00000000-0000-0000-0000-000000000000")
	case c.TeamsAppPassword == "":
		return missingSetting("QLIKBOT_TEAMS_APP_PASSWORD", "Teams is on (QLIKBOT_TEAMS_APP_ID is set) and qlikbot needs the app's secret to answer",
			"the client secret value of the Azure Bot's app registration")
	case c.TeamsTenantID == "":
		return missingSetting("QLIKBOT_TEAMS_TENANT_ID", "Teams is on (QLIKBOT_TEAMS_APP_ID is set) and new Azure bots are single-tenant",
			"the bot's App Tenant ID, a GUID or a domain like contoso.onmicrosoft.com")
	case !tenantRE.MatchString(c.TeamsTenantID):
		return badSetting("QLIKBOT_TEAMS_TENANT_ID", c.TeamsTenantID, "", "the bot's App Tenant ID, a GUID or a domain like contoso.onmicrosoft.com")
	}
	for _, u := range []struct{ name, value string }{
		{"QLIKBOT_TEAMS_OPENID_URL", c.TeamsOpenIDURL}, {"QLIKBOT_TEAMS_TOKEN_URL", c.TeamsTokenURL},
	} {
		if p, err := url.Parse(u.value); u.value != "" && (err != nil || p.Scheme != "https" || p.Host == "") {
			return badSetting(u.name, shownURL(u.value), "keys and tokens never travel in clear text", "an absolute https URL, or empty for Microsoft's")
		}
	}
	return nil
}

func (c Config) checkServing() error {
	if c.PublicURL != "" {
		if err := checkPublicURL(c.PublicURL); err != nil {
			return badSetting("QLIKBOT_PUBLIC_URL", shownURL(c.PublicURL), err.Error(), "the https base URL of the public listener like https://bot.example.com")
		}
	}
	if c.FileTTL <= 0 {
		return badSetting("QLIKBOT_FILE_TTL", c.FileTTL.String(), "", "a positive duration like 1h")
	}
	if c.HTTPAddr != "" {
		if err := checkListenAddr("QLIKBOT_HTTP_ADDR", c.HTTPAddr, ":8080"); err != nil {
			return err
		}
	}
	if !c.AdminOff() {
		if err := checkListenAddr("QLIKBOT_ADMIN_ADDR", c.AdminAddr, "127.0.0.1:9090, or off"); err != nil {
			return err
		}
		if c.AdminAddr == c.HTTPAddr {
			return badSetting("QLIKBOT_ADMIN_ADDR", c.AdminAddr, "the same as QLIKBOT_HTTP_ADDR",
				"a private address of its own like 127.0.0.1:9090 (the public listener never serves /metrics), or off")
		}
	}
	if !consoleUserRE.MatchString(c.ConsoleUser) {
		return badSetting("QLIKBOT_CONSOLE_USER", c.ConsoleUser, "", "a name of letters, digits and . _ @ - (no spaces), like oncall")
	}
	return nil
}

// shownURL is a URL as an error may show it: a password in it (a proxy's,
// by mistake) becomes xxxxx.
func shownURL(raw string) string { return store.RedactURL(raw) }

// checkListenAddr accepts host:port with a numeric port (0 picks one).
func checkListenAddr(name, addr, example string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		var n int
		n, err = strconv.Atoi(port)
		if err == nil && (n < 0 || n > 65535) {
			err = fmt.Errorf("port %d out of range", n)
		}
	}
	if err != nil {
		return badSetting(name, addr, "not a listen address", "host:port like "+example)
	}
	return nil
}

func (c Config) checkLimits() error {
	for _, n := range []struct {
		name, value, want string
		ok                bool
	}{
		{"QLIKBOT_WORKERS", strconv.Itoa(c.Workers), "a positive whole number like 8", c.Workers > 0},
		{"QLIKBOT_QUEUE_SIZE", strconv.Itoa(c.QueueSize), "a positive whole number like 64", c.QueueSize > 0},
		{"QLIKBOT_USER_RATE", fmt.Sprint(c.UserRate), "a positive number of requests per second like 1", c.UserRate > 0},
		{"QLIKBOT_USER_BURST", strconv.Itoa(c.UserBurst), "a positive whole number like 5", c.UserBurst > 0},
		{"QLIKBOT_REQUEST_TIMEOUT", c.RequestTimeout.String(), "a positive duration like 60s", c.RequestTimeout > 0},
		{"QLIKBOT_SHUTDOWN_TIMEOUT", c.ShutdownTimeout.String(), "a positive duration like 30s", c.ShutdownTimeout > 0},
		{"QLIKBOT_SHUTDOWN_DRAIN", c.ShutdownDrain.String(), "a duration of 0 or more like 5s", c.ShutdownDrain >= 0},
		{"QLIKBOT_PAGE_SIZE", strconv.Itoa(c.PageSize), "a whole number from 1 to 100 (Slack allows 100 rows)", c.PageSize > 0 && c.PageSize <= 100},
	} {
		if !n.ok {
			return badSetting(n.name, n.value, "", n.want)
		}
	}
	return nil
}

// resolveMap is QLIKBOT_QLIK_RESOLVE: host=address pairs, comma-separated.
// host:address is accepted too (the first colon splits, so an IPv6 or
// address:port works after it).
type resolveMap map[string]string

// Decode implements envconfig.Decoder.
func (m *resolveMap) Decode(value string) error {
	out := resolveMap{}
	for pair := range strings.SplitSeq(value, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		sep := "="
		if !strings.Contains(pair, "=") {
			sep = ":"
		}
		host, addr, ok := strings.Cut(pair, sep)
		host, addr, valid := resolveEntry(host, addr)
		if !ok || !valid {
			return fmt.Errorf("entry %q is not host=address", pair)
		}
		out[host] = addr
	}
	*m = out
	return nil
}
