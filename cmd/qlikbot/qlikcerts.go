package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
)

// certFiles are the PEM files of one site, exported from the QMC, and how
// to name a problem with one of them (field is "cert", "key" or "root").
type certFiles struct {
	cert, key, root string
	insecure        bool // no root needed
	bad             func(field, path, problem, want string) error
}

// envCertFiles are the files QLIKBOT_QLIK_CERT, _KEY and _ROOT name.
func envCertFiles(c Config) certFiles {
	vars := map[string]string{"cert": "QLIKBOT_QLIK_CERT", "key": "QLIKBOT_QLIK_KEY", "root": "QLIKBOT_QLIK_ROOT"}
	return certFiles{cert: c.QlikCert, key: c.QlikKey, root: c.QlikRoot, insecure: c.QlikInsecure,
		bad: func(field, path, problem, want string) error { return badSetting(vars[field], path, problem, want) }}
}

// load reads the files, so that a missing, unreadable or mismatched file
// is named by its setting. Errors name paths, never key material.
func (f certFiles) load() (cert, key, root []byte, err error) {
	const export = " exported from the QMC (Certificates > Export, platform-independent PEM, with the secret key)"
	read := func(field, path, want string) ([]byte, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, f.bad(field, path, "cannot read it: "+fileReason(err), want)
		}
		return b, nil
	}
	if cert, err = read("cert", f.cert, "the path of client.pem"+export); err != nil {
		return nil, nil, nil, err
	}
	if blk, _ := pem.Decode(cert); blk == nil || blk.Type != "CERTIFICATE" {
		return nil, nil, nil, f.bad("cert", f.cert, "it holds no PEM certificate", "the path of client.pem"+export)
	}
	if key, err = read("key", f.key, "the path of client_key.pem"+export); err != nil {
		return nil, nil, nil, err
	}
	if _, err := tls.X509KeyPair(cert, key); err != nil {
		// tls's message says what is wrong (no PEM, a mismatch), never the key.
		return nil, nil, nil, f.bad("key", f.key, "it is not the private key of the client certificate ("+err.Error()+")",
			"the path of client_key.pem exported together with client.pem")
	}
	if f.insecure {
		return cert, key, nil, nil
	}
	if root, err = read("root", f.root, "the path of root.pem"+export); err != nil {
		return nil, nil, nil, err
	}
	if !x509.NewCertPool().AppendCertsFromPEM(root) {
		return nil, nil, nil, f.bad("root", f.root, "it holds no PEM certificate", "the path of root.pem"+export)
	}
	return cert, key, root, nil
}

// readSettingFile reads the file a setting names; the error is the
// setting's one line.
func readSettingFile(name, path, want string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, badSetting(name, path, "cannot read it: "+fileReason(err), want)
	}
	return b, nil
}

// fileReason is why a file could not be read, without its path (the
// setting's line shows it already).
func fileReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
