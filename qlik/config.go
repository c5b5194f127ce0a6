package qlik

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"
)

// Defaults for the zero values of Config.
const (
	DefaultQRSPort           = 4242
	DefaultQPSPort           = 4243
	DefaultUserDirectory     = "INTERNAL"
	DefaultUserID            = "sa_api"
	DefaultTimeout           = 10 * time.Second
	DefaultConcurrency       = 64
	DefaultRequestsPerSecond = 50
	DefaultBurst             = 16
	DefaultEnginePort        = 4747
	DefaultTopologyTTL       = 30 * time.Second
	DefaultReadRetries       = 2
	DefaultRetryBackoff      = 100 * time.Millisecond
)

// Config says how to reach one Qlik Sense site. Zero values take the
// defaults above; for TopologyTTL, ReadRetries and RequestsPerSecond a
// negative value switches the feature off (no cache, no retries, no rate
// limit).
type Config struct {
	QRSHost string // required: where QRS (the repository) listens
	QRSPort int    // default 4242
	QPSPort int    // default 4243; one port for every proxy node

	// PEM files as the QMC exports them (client.pem, client_key.pem,
	// root.pem). The *PEM fields are used instead when set.
	CertFile, KeyFile, RootFile string
	CertPEM, KeyPEM, RootPEM    []byte

	// InsecureSkipVerify stops checking the server certificates. Off by
	// default; the client logs a warning when it is switched on.
	InsecureSkipVerify bool

	// UserDirectory and UserID form the X-Qlik-User header; default
	// INTERNAL / sa_api.
	UserDirectory, UserID string

	Timeout time.Duration // per HTTP call, default 10s
	// Concurrency is the ceiling of the adaptive concurrency limit: the
	// most calls in flight to one node and port (default 64). The client
	// starts at 32 or this ceiling, whichever is lower, and finds each
	// node's capacity below it (see the Client doc).
	Concurrency int
	// RequestsPerSecond paces writes (deletes, logouts), default 50: see
	// the Client doc for the guarantee. Reads are not paced by it.
	RequestsPerSecond float64
	Burst             int // the writes' rate.Limiter burst, default 16

	// EnginePort is where the engines' health check listens. 0 (default)
	// takes the port QRS reports for each engine (settings.listenerPorts),
	// else 4747.
	EnginePort int

	TopologyTTL time.Duration // topology and engine list cache, default 30s; negative disables

	// Resolve maps a host name to the address to dial ("10.0.0.7" or
	// "10.0.0.7:4243"), like curl --resolve. TLS still verifies the
	// certificate against the host name.
	Resolve map[string]string

	ReadRetries  int           // retries of GETs on 5xx and timeouts, default 2
	RetryBackoff time.Duration // first backoff, doubled per retry, with jitter; default 100ms

	Logger  *slog.Logger     // default: discard
	Observe func(Call)       // optional: called after every HTTP attempt (for metrics)
	Clock   func() time.Time // optional: the topology and engine caches' clock (tests); default time.Now
}

// Call describes one HTTP attempt for Config.Observe.
type Call struct {
	Service  string // "qrs", "qps" or "engine"
	Node     string // host name called
	Endpoint string // low-cardinality name, e.g. "qps.session.list"
	Method   string
	Status   int // 0 when no response arrived
	Duration time.Duration
	Err      error
	Limit    int // the node's adaptive concurrency limit after this call
}

// withDefaults returns a copy of c with the zero values filled in.
func (c Config) withDefaults() Config {
	if c.QRSPort == 0 {
		c.QRSPort = DefaultQRSPort
	}
	if c.QPSPort == 0 {
		c.QPSPort = DefaultQPSPort
	}
	if c.UserDirectory == "" {
		c.UserDirectory = DefaultUserDirectory
	}
	if c.UserID == "" {
		c.UserID = DefaultUserID
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.RequestsPerSecond == 0 {
		c.RequestsPerSecond = DefaultRequestsPerSecond
	}
	if c.Burst <= 0 {
		c.Burst = DefaultBurst
	}
	if c.TopologyTTL == 0 {
		c.TopologyTTL = DefaultTopologyTTL
	}
	if c.ReadRetries == 0 {
		c.ReadRetries = DefaultReadRetries
	}
	if c.ReadRetries < 0 {
		c.ReadRetries = 0
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return c
}

func (c Config) validate() error {
	if c.QRSHost == "" {
		return errors.New("qlik config: QRSHost is required")
	}
	for _, p := range []struct {
		name string
		port int
	}{{"QRSPort", c.QRSPort}, {"QPSPort", c.QPSPort}, {"EnginePort", c.EnginePort}} { // a slice: the same error first every time
		if !ValidPort(p.port) {
			if p.name == "EnginePort" && p.port == 0 {
				continue // 0: what QRS reports
			}
			return fmt.Errorf("qlik config: %s %d is not a TCP port", p.name, p.port)
		}
	}
	return nil
}

// ValidPort reports whether p is a TCP port, 1 to 65535.
func ValidPort(p int) bool { return p >= 1 && p <= 65535 }

// tlsConfig loads the client certificate and the root. Errors name files,
// never their content.
func (c Config) tlsConfig() (*tls.Config, error) {
	certPEM, err := pemOrFile(c.CertPEM, c.CertFile, "client certificate (CertFile/CertPEM)")
	if err != nil {
		return nil, err
	}
	keyPEM, err := pemOrFile(c.KeyPEM, c.KeyFile, "client key (KeyFile/KeyPEM)")
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// The error text names the problem (mismatch, bad PEM), not the key.
		return nil, fmt.Errorf("qlik config: client certificate and key do not form a pair: %w", err)
	}
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		Certificates:       []tls.Certificate{cert},
		ClientSessionCache: tls.NewLRUClientSessionCache(tlsSessionCacheSize),
	}
	if c.InsecureSkipVerify {
		tc.InsecureSkipVerify = true
		return tc, nil
	}
	rootPEM, err := pemOrFile(c.RootPEM, c.RootFile, "root certificate (RootFile/RootPEM)")
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(rootPEM) {
		return nil, errors.New("qlik config: the root certificate holds no PEM certificate (expected root.pem from the QMC export)")
	}
	tc.RootCAs = pool
	return tc, nil
}

// tlsSessionCacheSize: one session per server name (node) is kept; a site
// has far fewer nodes.
const tlsSessionCacheSize = 256

func pemOrFile(pem []byte, file, what string) ([]byte, error) {
	if len(pem) > 0 {
		return pem, nil
	}
	if file == "" {
		return nil, fmt.Errorf("qlik config: %s is required", what)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("qlik config: read %s: %w", what, err)
	}
	return b, nil
}

// NewTransport builds the one http.Transport a Client uses: mutual TLS from
// cfg, dialing through cfg.Resolve, an idle pool sized to cfg.Concurrency
// per host so a wave of calls to every node reuses warm connections
// instead of redoing mutual-TLS handshakes (Go keeps only 2 per host by
// default), and a TLS session cache so the handshakes that remain are
// resumed rather than full. Exported so baselines and tools can measure
// with the same settings.
func NewTransport(cfg Config) (*http.Transport, error) {
	cfg = cfg.withDefaults()
	tc, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	resolve := make(map[string]string, len(cfg.Resolve))
	for h, a := range cfg.Resolve {
		resolve[h] = a
	}
	return &http.Transport{
		TLSClientConfig: tc,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, resolveAddr(resolve, addr))
		},
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: 0, // the per-call context deadline covers it
		MaxIdleConns:          0, // no total limit; per host below
		MaxIdleConnsPerHost:   cfg.Concurrency,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     false, // QPS/QRS speak HTTP/1.1
	}, nil
}

// resolveAddr maps "host:port" through the resolve table. The TLS layer
// still sees the original host (the request URL), so SNI and certificate
// verification use the host name.
func resolveAddr(resolve map[string]string, addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	to, ok := resolve[host]
	if !ok {
		return addr
	}
	if _, _, err := net.SplitHostPort(to); err == nil {
		return to
	}
	return net.JoinHostPort(to, port)
}
