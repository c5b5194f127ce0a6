package qlik_test

import (
	"errors"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	other := startSim(t)
	tests := []struct {
		name    string
		mod     func(c *qlik.Config)
		wantErr string
	}{
		{name: "no QRS host", mod: func(c *qlik.Config) { c.QRSHost = "" }, wantErr: "QRSHost is required"},
		{name: "bad port", mod: func(c *qlik.Config) { c.QPSPort = 70000 }, wantErr: "QPSPort 70000 is not a TCP port"},
		{name: "no client certificate", mod: func(c *qlik.Config) { c.CertPEM = nil }, wantErr: "client certificate (CertFile/CertPEM) is required"},
		{name: "missing key file", mod: func(c *qlik.Config) { c.KeyPEM, c.KeyFile = nil, "/nonexistent/client_key.pem" }, wantErr: "/nonexistent/client_key.pem"},
		{name: "key of another certificate", mod: func(c *qlik.Config) { c.KeyPEM = other.KeyPEM() }, wantErr: "do not form a pair"},
		{name: "no root", mod: func(c *qlik.Config) { c.RootPEM = nil }, wantErr: "root certificate (RootFile/RootPEM) is required"},
		{name: "root is not PEM", mod: func(c *qlik.Config) { c.RootPEM = []byte("not a certificate") }, wantErr: "holds no PEM certificate"},
		{name: "key given as certificate", mod: func(c *qlik.Config) { c.CertPEM = s.KeyPEM() }, wantErr: "do not form a pair"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := simConfig(s)
			tt.mod(&cfg)
			_, err := qlik.New(cfg)
			if err == nil {
				t.Fatal("New accepted a bad config")
			}
			mustContain(t, err.Error(), tt.wantErr)
			assertNoKey(t, err.Error(), s.KeyPEM(), other.KeyPEM())
			if tt.name == "missing key file" && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("err = %v, want fs.ErrNotExist inside", err)
			}
		})
	}
}

// assertNoKey fails if text holds any line of a PEM key's body.
func assertNoKey(t *testing.T, text string, keys ...[]byte) {
	t.Helper()
	if strings.Contains(text, "PRIVATE KEY") {
		t.Errorf("text mentions a PEM private key block: %q", text)
	}
	for _, k := range keys {
		for _, line := range strings.Split(string(k), "\n") {
			if len(line) > 16 && !strings.HasPrefix(line, "-----") && strings.Contains(text, line) {
				t.Errorf("text leaks key material: %q", text)
			}
		}
	}
}

// TestCertFilesAndLogs: the QMC's exported files work, and a debug log of a
// full list, a 403 and a TLS failure carries no key material.
func TestCertFilesAndLogs(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	dir := t.TempDir()
	if err := s.WriteCerts(dir); err != nil {
		t.Fatal(err)
	}
	var buf lockedBuffer
	cfg := simConfig(s)
	cfg.CertPEM, cfg.KeyPEM, cfg.RootPEM = nil, nil, nil
	cfg.CertFile, cfg.KeyFile, cfg.RootFile = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client_key.pem"), filepath.Join(dir, "root.pem")
	cfg.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var calls []qlik.Call
	var mu sync.Mutex
	cfg.Observe = func(c qlik.Call) { mu.Lock(); calls = append(calls, c); mu.Unlock() }
	c, err := qlik.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Sessions(t.Context(), qlik.Selection{}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetFault(dev1, qliksim.Fault{Down: true}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := c.Sessions(t.Context(), qlik.Selection{Hosts: []string{dev1}}); err != nil {
		t.Fatal(err)
	}
	if buf.Len() == 0 {
		t.Fatal("nothing logged at debug level")
	}
	assertNoKey(t, buf.String(), s.KeyPEM())

	// Observe saw every HTTP call, with endpoint names and outcomes.
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != len(s.Requests())+5 { // the 5 calls to the downed node never arrived
		t.Errorf("Observe saw %d calls, the simulator %d (+5 refused)", len(calls), len(s.Requests()))
	}
	byEndpoint := map[string]int{}
	failed := 0
	for _, c := range calls {
		byEndpoint[c.Endpoint]++
		if c.Err != nil {
			failed++
			if c.Status != 0 || c.Node != dev1 {
				t.Errorf("failed call %+v", c)
			}
		}
	}
	if byEndpoint["qrs.virtualproxy.list"] != 1 || byEndpoint["qrs.proxyservice.list"] != 1 || byEndpoint["qps.session.list"] != 29+5 || failed != 5 {
		t.Errorf("calls by endpoint %v, %d failed", byEndpoint, failed)
	}
}

// lockedBuffer is a log sink safe for concurrent writes.
type lockedBuffer = testkit.Buffer
