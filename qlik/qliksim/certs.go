package qliksim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// authority is an in-memory CA.
type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

// certValidity is generous: a simulator cert must not expire in a long demo,
// and NotBefore is backdated so clock skew between test hosts is harmless.
const certValidity = 10 * 365 * 24 * time.Hour

func newAuthority(cn string) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"qliksim"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(certValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	return &authority{cert: cert, key: key, pem: pemBlock("CERTIFICATE", der)}, nil
}

// issued is a leaf certificate with its key, as tls wants it and as PEM.
type issued struct {
	tls     tls.Certificate
	certPEM []byte
	keyPEM  []byte
}

// issue signs a leaf. Server certs get the DNS names and IPs as SANs.
func (a *authority) issue(cn string, client bool, dnsNames []string, ips []net.IP) (*issued, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key for %s: %w", cn, err)
	}
	usage := x509.ExtKeyUsageServerAuth
	if client {
		usage = x509.ExtKeyUsageClientAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"qliksim"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		DNSNames:     dnsNames,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate for %s: %w", cn, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal key for %s: %w", cn, err)
	}
	certPEM := pemBlock("CERTIFICATE", der)
	keyPEM := pemBlock("PRIVATE KEY", keyDER)
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load key pair for %s: %w", cn, err)
	}
	return &issued{tls: pair, certPEM: certPEM, keyPEM: keyPEM}, nil
}

// serverCert issues the certificate a node presents: its advertised name
// (as DNS name, or as IP when it is one) and its loopback IP.
func (a *authority) serverCert(advertised, ip string) (*tls.Certificate, error) {
	var dns []string
	ips := []net.IP{net.ParseIP(ip)}
	if parsed := net.ParseIP(advertised); parsed != nil {
		if !parsed.Equal(ips[0]) {
			ips = append(ips, parsed)
		}
	} else {
		dns = []string{advertised}
	}
	c, err := a.issue(advertised, false, dns, ips)
	if err != nil {
		return nil, err
	}
	return &c.tls, nil
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		// crypto/rand does not fail on supported platforms (Go 1.24+ crashes
		// the program instead); a fixed serial keeps this path total anyway.
		return big.NewInt(1)
	}
	return n
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// WriteCerts writes client.pem, client_key.pem and root.pem into dir (created
// if missing), named as the QMC exports them. The key is written 0600.
func (s *Server) WriteCerts(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create cert dir %s: %w", dir, err)
	}
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"client.pem", s.client.certPEM, 0o644},
		{"client_key.pem", s.client.keyPEM, 0o600},
		{"root.pem", s.ca.pem, 0o644},
	}
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, f.data, f.mode); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		// WriteFile keeps the mode of an existing file: enforce it.
		if err := os.Chmod(path, f.mode); err != nil {
			return fmt.Errorf("chmod %s: %w", path, err)
		}
	}
	return nil
}
