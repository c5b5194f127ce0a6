package qliksim_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// selfSigned is a client certificate the simulator's CA did not sign.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "intruder"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestMutualTLSRequired(t *testing.T) {
	t.Parallel()
	s := start(t)
	good := tlsConfig(t, s)
	tests := []struct {
		name    string
		certs   func() []tls.Certificate
		wantErr bool
	}{
		{"no client certificate", func() []tls.Certificate { return nil }, true},
		{"certificate from another CA", func() []tls.Certificate { return []tls.Certificate{selfSigned(t)} }, true},
		{"QMC client certificate", func() []tls.Certificate { return good.Certificates }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conf := good.Clone()
			conf.Certificates = tc.certs()
			c := newClient(t, s, conf)
			for _, u := range []string{qrsURL(s, "/qrs/about"), qpsURL(s, dev1, "/qps/dev/session")} {
				resp, err := call(t.Context(), c, http.MethodGet, u, nil)
				if tc.wantErr {
					if err == nil {
						t.Fatalf("GET %s without a valid client certificate: status %d, want a TLS error", u, resp.status)
					}
					continue
				}
				if err != nil || resp.status != http.StatusOK {
					t.Fatalf("GET %s: status %d, err %v", u, resp.status, err)
				}
			}
		})
	}
}

func TestServerCertificateNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      []qliksim.Option
		wantHosts []string
	}{
		{"lab FQDNs mapped by Resolve", nil, []string{central, dev1}},
		{"advertise loopback", []qliksim.Option{qliksim.WithAdvertiseLoopback()}, []string{"127.0.0.1", "127.0.0.2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, tc.opts...)
			if got := s.Hosts(); len(got) != 2 || got[0] != tc.wantHosts[0] || got[1] != tc.wantHosts[1] {
				t.Fatalf("Hosts() = %v, want %v", got, tc.wantHosts)
			}
			if s.QRSHost() != tc.wantHosts[0] {
				t.Fatalf("QRSHost() = %q, want %q", s.QRSHost(), tc.wantHosts[0])
			}
			// Full verification (chain and SAN against the advertised name).
			c := newClient(t, s, tlsConfig(t, s))
			for _, h := range s.Hosts() {
				mustCall(t, c, http.MethodGet, qpsURL(s, h, "/qps/butler/session"), nil, http.StatusOK)
			}
			mustCall(t, c, http.MethodGet, qrsURL(s, "/qrs/about"), nil, http.StatusOK)
		})
	}
}

func TestReplaceServerCerts(t *testing.T) {
	t.Parallel()
	s := start(t)
	before := newClient(t, s, tlsConfig(t, s))
	mustCall(t, before, http.MethodGet, qpsURL(s, central, "/qps/finance/session"), nil, http.StatusOK)
	if err := s.ReplaceServerCerts(); err != nil {
		t.Fatalf("ReplaceServerCerts: %v", err)
	}
	for _, u := range []string{qpsURL(s, central, "/qps/finance/session"), qpsURL(s, dev1, "/qps/dev/session"), qrsURL(s, "/qrs/about")} {
		c := newClient(t, s, tlsConfig(t, s)) // fresh connections: new handshakes
		_, err := call(t.Context(), c, http.MethodGet, u, nil)
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Fatalf("GET %s after ReplaceServerCerts: err %v, want x509.UnknownAuthorityError", u, err)
		}
	}
}

func TestWriteCerts(t *testing.T) {
	t.Parallel()
	s := start(t)
	dir := filepath.Join(t.TempDir(), "certs")
	if err := s.WriteCerts(dir); err != nil {
		t.Fatalf("WriteCerts: %v", err)
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "client.pem"), filepath.Join(dir, "client_key.pem"))
	if err != nil {
		t.Fatalf("load written key pair: %v", err)
	}
	root, err := os.ReadFile(filepath.Join(dir, "root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(root) {
		t.Fatal("root.pem holds no certificate")
	}
	fi, err := os.Stat(filepath.Join(dir, "client_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("client_key.pem mode %v, want 0600", fi.Mode().Perm())
	}
	c := newClient(t, s, &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: roots, MinVersion: tls.VersionTLS12})
	mustCall(t, c, http.MethodGet, qpsURL(s, central, "/qps//session"), nil, http.StatusOK)
}
