package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/qlikbot/qlikbot/bot"
)

// envPrefix starts every variable: QLIKBOT_QLIK_HOST and so on. The tags
// below carry it in full and envconfig runs without a prefix, because with
// one envconfig falls back to a tag's unprefixed name (LOG_LEVEL, STORE,
// HTTP_ADDR ...) and would take other programs' settings from a shared
// environment.
const envPrefix = "QLIKBOT_"

// Config is every setting qlikbot reads, all from QLIKBOT_* environment
// variables. The README's configuration reference is generated from the
// desc and default tags below (see TestREADMEConfigReference).
type Config struct {
	// Qlik Sense.
	QlikHost        string        `envconfig:"QLIKBOT_QLIK_HOST" desc:"QRS host name of the Qlik Sense central node; empty runs the built-in simulator (demo)"`
	QlikQRSPort     int           `envconfig:"QLIKBOT_QLIK_QRS_PORT" default:"4242" desc:"Qlik Repository Service port"`
	QlikQPSPort     int           `envconfig:"QLIKBOT_QLIK_QPS_PORT" default:"4243" desc:"Qlik Proxy Service REST port (the same on every node)"`
	QlikEnginePort  int           `envconfig:"QLIKBOT_QLIK_ENGINE_PORT" default:"0" desc:"port of the engines' health check on every node; 0: the port QRS reports for each engine (Qlik's default 4747)"`
	QlikCert        string        `envconfig:"QLIKBOT_QLIK_CERT" default:"./cert/client.pem" desc:"client certificate exported from the QMC (PEM)"`
	QlikKey         string        `envconfig:"QLIKBOT_QLIK_KEY" default:"./cert/client_key.pem" desc:"client certificate key exported from the QMC (PEM)"`
	QlikRoot        string        `envconfig:"QLIKBOT_QLIK_ROOT" default:"./cert/root.pem" desc:"root CA exported from the QMC (PEM)"`
	QlikInsecure    bool          `envconfig:"QLIKBOT_QLIK_INSECURE_SKIP_VERIFY" default:"false" desc:"skip verifying the Qlik server certificate (never in production)"`
	QlikUser        string        `envconfig:"QLIKBOT_QLIK_USER" default:"INTERNAL\\sa_api" desc:"X-Qlik-User identity for QRS calls, as DIR\\ID"`
	QlikTimeout     time.Duration `envconfig:"QLIKBOT_QLIK_TIMEOUT" default:"10s" desc:"timeout of one Qlik call"`
	QlikConcurrency int           `envconfig:"QLIKBOT_QLIK_CONCURRENCY" default:"64" desc:"Qlik calls in flight per node at most: the ceiling under which the client finds each node's capacity"`
	QlikRPS         float64       `envconfig:"QLIKBOT_QLIK_RPS" default:"100" desc:"Qlik deletes and logouts per second at most (reads are not paced by it)"`
	QlikTopologyTTL time.Duration `envconfig:"QLIKBOT_QLIK_TOPOLOGY_TTL" default:"30s" desc:"how long the virtual proxy / proxy service topology and the engine list are cached (a site of QLIKBOT_SITES may set its own topologyTTL); 0: not cached, every command reads them from QRS"`
	QlikResolve     resolveMap    `envconfig:"QLIKBOT_QLIK_RESOLVE" desc:"host name to address overrides for nodes that do not resolve from here, as host=address,host2=address2 (host:address works too)"`
	Sites           string        `envconfig:"QLIKBOT_SITES" desc:"YAML file listing several Qlik Sense sites (name, host, ports, certificate files, user, resolve, limits, health thresholds; see Several sites); fields a site leaves out take their QLIKBOT_QLIK_* value; empty: QLIKBOT_QLIK_HOST is the one site, named default"`
	HealthCPU       float64       `envconfig:"QLIKBOT_HEALTH_CPU_WARN" default:"90" desc:"/qlik health warns about a node whose CPU is at or above this percent (a site of QLIKBOT_SITES may set its own)"`
	HealthMemFree   float64       `envconfig:"QLIKBOT_HEALTH_MEM_FREE_WARN" default:"10" desc:"/qlik health warns about a node with less free memory than this percent of its physical memory (a site of QLIKBOT_SITES may set its own)"`

	// The watcher: samples, history, alerts.
	WatchInterval time.Duration `envconfig:"QLIKBOT_WATCH_INTERVAL" default:"60s" desc:"how often the watcher samples every site (sessions per virtual proxy and node, users, engine health) for alerts, /qlik trend and the gauges; one replica samples (a lease in the store); 0 turns it off"`
	Alerts        string        `envconfig:"QLIKBOT_ALERTS" desc:"YAML file of alert rules (an alerts: section alone, see Watcher and alerts); empty: the policy's alerts section, or the default rules"`
	HistoryRaw    time.Duration `envconfig:"QLIKBOT_HISTORY_RAW" default:"24h" desc:"how long the watcher's raw samples are kept (at least 5m); older ones live on as 5-minute aggregates"`
	HistoryKeep   time.Duration `envconfig:"QLIKBOT_HISTORY_KEEP" default:"168h" desc:"how long the 5-minute aggregates of the history are kept (at least QLIKBOT_HISTORY_RAW)"`

	// Who may do what, and where state lives.
	Policy       string     `envconfig:"QLIKBOT_POLICY" desc:"authorization policy file (YAML); required with QLIKBOT_QLIK_HOST or QLIKBOT_SITES; the demo uses the built-in demo policy"`
	Store        string     `envconfig:"QLIKBOT_STORE" desc:"state store: bolt:///path/state.db, or redis://[user:password@]host:6379/0 (rediss:// for TLS) shared by replicas; default a bolt file qlikbot.db in the working directory (the demo: a temporary file)"`
	StoreCA      string     `envconfig:"QLIKBOT_STORE_CA" desc:"PEM file of the CA that signed the Redis server's certificate, for rediss:// with a private CA; empty: the system's CAs"`
	StateKey     bot.Secret `envconfig:"QLIKBOT_STATE_KEY" desc:"secret key (base64 or hex, at least 32 bytes: openssl rand -base64 32) that signs pending approvals and jobs in the store; required with Redis (every replica the same); with bolt, empty: generated into the state file's path + .key (mode 0600)"`
	StateOldKeys bot.Secret `envconfig:"QLIKBOT_STATE_OLD_KEYS" desc:"earlier state keys, comma-separated, accepted for verification only while records they signed are pending (key rotation)"`

	// Chat platforms.
	SlackMode          string        `envconfig:"QLIKBOT_SLACK_MODE" desc:"Slack connection: socket or http; empty turns Slack off"`
	SlackBotToken      bot.Secret    `envconfig:"QLIKBOT_SLACK_BOT_TOKEN" desc:"Slack bot token (xoxb-...)"`
	SlackAppToken      bot.Secret    `envconfig:"QLIKBOT_SLACK_APP_TOKEN" desc:"Slack app-level token for socket mode (xapp-...)"`
	SlackSigningSecret bot.Secret    `envconfig:"QLIKBOT_SLACK_SIGNING_SECRET" desc:"Slack signing secret for HTTP mode"`
	SlackAPIURL        string        `envconfig:"QLIKBOT_SLACK_API_URL" desc:"Slack Web API base URL (tests and proxies); empty is Slack's"`
	SlackCommand       string        `envconfig:"QLIKBOT_SLACK_COMMAND" default:"/qlik" desc:"the slash command as defined in the Slack app"`
	SlackEmailCache    time.Duration `envconfig:"QLIKBOT_SLACK_EMAIL_CACHE" default:"1h" desc:"look up users' e-mail for email: grants and cache it this long (off by itself when the token lacks the scope users:read.email); 0 turns lookups off"`
	TeamsAppID         string        `envconfig:"QLIKBOT_TEAMS_APP_ID" desc:"Microsoft App ID of the Azure Bot; empty turns Teams off"`
	TeamsAppPassword   bot.Secret    `envconfig:"QLIKBOT_TEAMS_APP_PASSWORD" desc:"client secret of the Azure Bot's app registration"`
	TeamsTenantID      string        `envconfig:"QLIKBOT_TEAMS_TENANT_ID" desc:"Entra ID tenant of the single-tenant bot"`
	TeamsOpenIDURL     string        `envconfig:"QLIKBOT_TEAMS_OPENID_URL" desc:"Bot Framework OpenID metadata URL; empty is Microsoft's"`
	TeamsTokenURL      string        `envconfig:"QLIKBOT_TEAMS_TOKEN_URL" desc:"OAuth token endpoint; empty is the tenant's login.microsoftonline.com endpoint"`
	ConsoleUser        string        `envconfig:"QLIKBOT_CONSOLE_USER" default:"oncall" desc:"acting user of the console chat (subject console:NAME)"`

	// Serving.
	PublicURL       string        `envconfig:"QLIKBOT_PUBLIC_URL" desc:"https base URL where the public listener is reachable (e.g. the Teams messaging host), for download links to files Teams cannot attach (the CSV of a long list); http only for a loopback host; empty: no links"`
	FileTTL         time.Duration `envconfig:"QLIKBOT_FILE_TTL" default:"1h" desc:"how long a download link works; anyone holding it may download the file until then"`
	HTTPAddr        string        `envconfig:"QLIKBOT_HTTP_ADDR" desc:"public listen address: Slack HTTP mode, Teams, /files/ and a bare /healthz; empty is :8080 when a chat platform is on, off for the console"`
	AdminAddr       string        `envconfig:"QLIKBOT_ADMIN_ADDR" default:"127.0.0.1:9090" desc:"private listen address for /metrics, the detailed /readyz and /healthz, opened with the public one; keep it off the internet; off turns it off"`
	Workers         int           `envconfig:"QLIKBOT_WORKERS" default:"8" desc:"requests worked on at once"`
	QueueSize       int           `envconfig:"QLIKBOT_QUEUE_SIZE" default:"64" desc:"requests waiting at most before users get a busy reply"`
	UserRate        float64       `envconfig:"QLIKBOT_USER_RATE" default:"1" desc:"requests per second one user may make (sustained)"`
	UserBurst       int           `envconfig:"QLIKBOT_USER_BURST" default:"5" desc:"requests one user may make in a burst"`
	RequestTimeout  time.Duration `envconfig:"QLIKBOT_REQUEST_TIMEOUT" default:"60s" desc:"deadline of one request, Qlik calls included"`
	PageSize        int           `envconfig:"QLIKBOT_PAGE_SIZE" default:"50" desc:"table rows per reply page (Slack allows 100)"`
	ShutdownDrain   time.Duration `envconfig:"QLIKBOT_SHUTDOWN_DRAIN" default:"5s" desc:"on SIGTERM, how long /readyz fails while the listeners still serve, before shutdown begins, so load balancers and Kubernetes stop sending requests first; the console does not wait; 0: no wait"`
	ShutdownTimeout time.Duration `envconfig:"QLIKBOT_SHUTDOWN_TIMEOUT" default:"30s" desc:"how long in-flight work may take to finish on SIGTERM (after QLIKBOT_SHUTDOWN_DRAIN)"`
	LogLevel        string        `envconfig:"QLIKBOT_LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	LogFormat       string        `envconfig:"QLIKBOT_LOG_FORMAT" default:"auto" desc:"json, text, or auto (text on a terminal, JSON otherwise)"`
}

// errConfig marks a configuration mistake: main prints it and exits 2.
var errConfig = errors.New("configuration")

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errConfig}, args...)...)
}

// loadConfig reads the environment and checks the settings that depend on
// each other. Every error is one line naming the variable to fix, its
// value (never a secret's) and what it takes instead.
func loadConfig() (Config, error) {
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			return c, badSetting(pe.KeyName, pe.Value, "cannot read it", typeWord(pe.TypeName))
		}
		return c, configErr("%v", err)
	}
	return c, c.validate()
}

// Demo reports whether no Qlik site is configured: then two built-in
// simulators stand in for Qlik Sense (sites prod and test).
func (c Config) Demo() bool { return c.QlikHost == "" && c.Sites == "" }

// ChatConfigured reports whether any chat platform besides the console is on.
func (c Config) ChatConfigured() bool { return c.SlackMode != "" || c.TeamsAppID != "" }

// Serving reports whether qlikbot opens its listeners: with a chat
// platform, or when QLIKBOT_HTTP_ADDR asks for them.
func (c Config) Serving() bool { return c.ChatConfigured() || c.HTTPAddr != "" }

// AdminOff reports whether the admin listener is switched off.
func (c Config) AdminOff() bool { return c.AdminAddr == "" || strings.EqualFold(c.AdminAddr, "off") }

// typeWord names a Go type the way an operator thinks of it.
func typeWord(t string) string {
	switch t {
	case "int", "int64":
		return "a whole number"
	case "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "Duration", "time.Duration":
		return "a duration like 30s or 5m"
	case "main.resolveMap":
		return "a list like host=address,host2=address2 (host:address works too)"
	}
	return t
}

func splitQlikUser(s string) (dir, id string, err error) {
	dir, id, ok := parseQlikUser(s)
	if !ok {
		return "", "", badSetting("QLIKBOT_QLIK_USER", s, "", userWant)
	}
	return dir, id, nil
}

// usage prints every variable with its type, default and description.
func usage(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 1, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "qlikbot: Qlik Sense sessions from Slack, Teams or a console.")
	fmt.Fprintln(tw, "With nothing configured it runs the console chat against the built-in Qlik simulator.")
	fmt.Fprintln(tw)
	err := envconfig.Usagef("", &Config{}, tw, "VARIABLE\tDEFAULT\tDESCRIPTION\n{{range .}}{{usage_key .}}\t{{usage_default .}}\t{{usage_description .}}\n{{end}}")
	if ferr := tw.Flush(); err == nil {
		err = ferr
	}
	return err
}

// markdownReference renders the configuration reference the README carries.
func markdownReference(w io.Writer) error {
	return envconfig.Usagef("", &Config{}, w, "| Variable | Default | Meaning |\n|---|---|---|\n{{range .}}| `{{usage_key .}}` | {{with usage_default .}}`{{.}}`{{end}} | {{usage_description .}} |\n{{end}}")
}
