package qliksim_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

const (
	central = "pro2-win1.lab.ptarmiganlabs.net"
	dev1    = "pro2-win2.lab.ptarmiganlabs.net"
	xrf     = "abcdefghijklmnop"
)

// start starts a simulator closed by t.Cleanup.
func start(t *testing.T, opts ...qliksim.Option) *qliksim.Server {
	t.Helper()
	s, err := qliksim.Start(opts...)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// tlsConfig is what a client configured with the QMC's PEM files would use.
func tlsConfig(t testing.TB, s *qliksim.Server) *tls.Config {
	t.Helper()
	pair, err := tls.X509KeyPair(s.CertPEM(), s.KeyPEM())
	if err != nil {
		t.Fatalf("client key pair: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(s.RootPEM()) {
		t.Fatal("root.pem holds no certificate")
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: roots, MinVersion: tls.VersionTLS12}
}

// newClient is a plain net/http client that dials advertised names at their
// loopback IP (like curl --resolve) and never follows redirects, so a
// redirect shows up as what it is.
func newClient(t testing.TB, s *qliksim.Server, conf *tls.Config) *http.Client {
	t.Helper()
	resolve := s.Resolve()
	var d net.Dialer
	tr := &http.Transport{
		TLSClientConfig:     conf,
		MaxIdleConnsPerHost: 16, // keep connections warm: handshakes are slow under -race
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if ip, ok := resolve[host]; ok {
				addr = net.JoinHostPort(ip, port)
			}
			return d.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func qpsURL(s *qliksim.Server, host, path string) string {
	return "https://" + net.JoinHostPort(host, strconv.Itoa(s.QPSPort())) + path
}

func qrsURL(s *qliksim.Server, path string) string {
	return "https://" + net.JoinHostPort(s.QRSHost(), strconv.Itoa(s.QRSPort())) + path
}

// withXrf appends a valid xrfkey parameter.
func withXrf(u string) string {
	if strings.Contains(u, "?") {
		return u + "&xrfkey=" + xrf
	}
	return u + "?xrfkey=" + xrf
}

type response struct {
	status int
	body   []byte
}

// call sends a request with a valid Xrfkey (query and header).
func call(ctx context.Context, c *http.Client, method, url string, body any) (response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, withXrf(url), rd)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("X-Qlik-Xrfkey", xrf)
	req.Header.Set("X-Qlik-User", "UserDirectory=INTERNAL; UserId=sa_api")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return send(c, req)
}

func send(c *http.Client, req *http.Request) (response, error) {
	resp, err := c.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, body: b}, err
}

// mustCall is call that fails the test on a transport error or an
// unexpected status.
func mustCall(t *testing.T, c *http.Client, method, url string, body any, want int) []byte {
	t.Helper()
	resp, err := call(t.Context(), c, method, url, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if resp.status != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, url, resp.status, want, resp.body)
	}
	return resp.body
}

// wireSession mirrors QPS's PascalCase session object.
type wireSession struct {
	SessionId     string
	UserDirectory string
	UserId        string
	UserName      *string
	Attributes    []map[string]string
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

func sessionIDs(ss []wireSession) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.SessionId
	}
	return out
}

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}
