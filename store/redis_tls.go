package store

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// tlsConfig returns the TLS settings for the Redis client: base (from a
// rediss:// URL, or nil for none) with at least TLS 1.2 and, when caFile is
// set, that CA as the only root. A CA file without TLS is refused rather
// than ignored: whoever set it expects an encrypted, verified connection.
func tlsConfig(base *tls.Config, caFile string) (*tls.Config, error) {
	if base == nil {
		if caFile != "" {
			return nil, errors.New("a TLS CA file is set but the connection does not use TLS: use a rediss:// URL")
		}
		return nil, nil
	}
	cfg := base.Clone()
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read TLS CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("TLS CA file %s holds no PEM certificate", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}
