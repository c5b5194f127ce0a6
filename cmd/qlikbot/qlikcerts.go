package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
)

// loadQlikCerts reads the certificate files exported from the QMC, so that
// a missing, unreadable or mismatched file is named by its variable.
// Errors name paths, never key material.
func loadQlikCerts(c Config) (cert, key, root []byte, err error) {
	const export = " exported from the QMC (Certificates > Export, platform-independent PEM, with the secret key)"
	if cert, err = readSettingFile("QLIKBOT_QLIK_CERT", c.QlikCert, "the path of client.pem"+export); err != nil {
		return nil, nil, nil, err
	}
	if blk, _ := pem.Decode(cert); blk == nil || blk.Type != "CERTIFICATE" {
		return nil, nil, nil, badSetting("QLIKBOT_QLIK_CERT", c.QlikCert, "it holds no PEM certificate", "the path of client.pem"+export)
	}
	if key, err = readSettingFile("QLIKBOT_QLIK_KEY", c.QlikKey, "the path of client_key.pem"+export); err != nil {
		return nil, nil, nil, err
	}
	if _, err := tls.X509KeyPair(cert, key); err != nil {
		// tls's message says what is wrong (no PEM, a mismatch), never the key.
		return nil, nil, nil, badSetting("QLIKBOT_QLIK_KEY", c.QlikKey, "it is not the private key of QLIKBOT_QLIK_CERT ("+err.Error()+")",
			"the path of client_key.pem exported together with client.pem")
	}
	if c.QlikInsecure {
		return cert, key, nil, nil
	}
	if root, err = readSettingFile("QLIKBOT_QLIK_ROOT", c.QlikRoot, "the path of root.pem"+export); err != nil {
		return nil, nil, nil, err
	}
	if !x509.NewCertPool().AppendCertsFromPEM(root) {
		return nil, nil, nil, badSetting("QLIKBOT_QLIK_ROOT", c.QlikRoot, "it holds no PEM certificate", "the path of root.pem"+export)
	}
	return cert, key, root, nil
}

// readSettingFile reads the file a setting names; the error is the
// setting's one line.
func readSettingFile(name, path, want string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		reason := err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			reason = pe.Err.Error() // without the path, which the line shows already
		}
		return nil, badSetting(name, path, "cannot read it: "+reason, want)
	}
	return b, nil
}
