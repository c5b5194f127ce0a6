package qlik

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// Sentinels. errors.Is(err, ErrNotFound) holds for any error that carries a
// 404 from Qlik, through every wrapper; ErrForbidden likewise for 403.
var (
	ErrNotFound  = errors.New("not found")
	ErrForbidden = errors.New("forbidden")
)

// HTTPError is a Qlik answer with an unexpected status.
type HTTPError struct {
	Method string
	URL    string // xrfkey redacted
	Status int
	Body   string // first 200 bytes of the answer
	Hint   string // what the operator can do about it, if known
}

func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if e.Body != "" {
		fmt.Fprintf(&b, ": %q", e.Body)
	}
	if e.Hint != "" {
		b.WriteString(" (" + e.Hint + ")")
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNotFound) and errors.Is(err, ErrForbidden)
// work on the status.
func (e *HTTPError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	}
	return false
}

// Temporary reports whether a retry may help (5xx).
func (e *HTTPError) Temporary() bool { return e.Status >= 500 }

func statusHint(status int) string {
	switch status {
	case http.StatusForbidden:
		return "Qlik refused the call: either the Xrfkey check failed (the xrfkey query parameter and the X-Qlik-Xrfkey header must carry the same 16 characters) or the client certificate has no rights on this site (export client.pem and client_key.pem from this site's QMC)"
	case http.StatusBadRequest:
		return "Qlik could not parse the request; a filter with an unbalanced quote gives this"
	case http.StatusNotFound:
		return "no such session, user or virtual proxy on this node"
	}
	if status >= 500 {
		return "the Qlik service failed; retrying later may help"
	}
	return ""
}

// UnknownHostError is a host name that the site does not have. Valid
// lists the ones it has.
type UnknownHostError struct {
	Host  string
	Valid []string
	Kind  string // what was looked for: "" is a proxy host, "engine" an engine node
}

func (e *UnknownHostError) Error() string {
	kind := e.Kind
	if kind == "" {
		kind = "proxy"
	}
	return fmt.Sprintf("unknown %s host %q: the site's %s hosts are %s", kind, e.Host, kind, strings.Join(e.Valid, ", "))
}

// UnknownPrefixError is a virtual proxy prefix that the site does not have.
// Valid lists the prefixes it has ("" is the default virtual proxy).
type UnknownPrefixError struct {
	Prefix string
	Valid  []string
}

func (e *UnknownPrefixError) Error() string {
	q := make([]string, len(e.Valid))
	for i, p := range e.Valid {
		q[i] = quotePrefix(p)
	}
	return fmt.Sprintf("no virtual proxy with prefix %s: the site's prefixes are %s", quotePrefix(e.Prefix), strings.Join(q, ", "))
}

// ConnError is a call that got no HTTP answer: the connection, the TLS
// handshake or the wait for an answer failed. Hint says what to check.
type ConnError struct {
	Addr string // host:port called
	Hint string
	Err  error
}

func (e *ConnError) Error() string { return e.Hint + ": " + e.Err.Error() }
func (e *ConnError) Unwrap() error { return e.Err }

// Timeout reports whether the call ran out of time.
func (e *ConnError) Timeout() bool {
	var ne net.Error
	return errors.Is(e.Err, context.DeadlineExceeded) || (errors.As(e.Err, &ne) && ne.Timeout())
}

// connError turns a transport failure into an error that tells the
// operator what to check. parent is the caller's context: when it is done,
// the caller gave up and its error is returned as is.
func connError(parent context.Context, err error, addr string, timeout time.Duration) error {
	if perr := parent.Err(); perr != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(addr)
	var (
		hostErr  x509.HostnameError
		authErr  x509.UnknownAuthorityError
		invalErr x509.CertificateInvalidError
		dnsErr   *net.DNSError
		netErr   net.Error
	)
	var hint string
	switch {
	case errors.As(err, &hostErr):
		hint = fmt.Sprintf("the server certificate of %s is not issued for that name (it names %s): call the node by a name in its certificate, or keep the name and map it to an address with Resolve", host, certNames(hostErr.Certificate))
	case errors.As(err, &authErr):
		hint = fmt.Sprintf("the server certificate of %s is not signed by the configured root certificate: export root.pem again from this site's QMC (the site's certificates may have been replaced)", host)
	case errors.As(err, &invalErr):
		hint = fmt.Sprintf("the server certificate of %s is not valid (expired, not yet valid or not for server use)", host)
	case strings.Contains(err.Error(), "remote error: tls"):
		hint = fmt.Sprintf("%s refused our TLS client certificate: use client.pem and client_key.pem exported from this site's QMC", addr)
	case errors.Is(err, syscall.ECONNREFUSED):
		hint = fmt.Sprintf("nothing accepts connections at %s: the node or its service is down, or the port is wrong", addr)
	case errors.As(err, &dnsErr):
		hint = fmt.Sprintf("cannot resolve %s from here: if the name only resolves inside Qlik's network, map it to an address with Resolve", host)
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		hint = fmt.Sprintf("no answer from %s within the timeout of %s: the node is slow or unreachable", addr, timeout)
	default:
		hint = fmt.Sprintf("call to %s failed", addr)
	}
	return &ConnError{Addr: addr, Hint: hint, Err: err}
}

func certNames(c *x509.Certificate) string {
	if c == nil {
		return "no names"
	}
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && c.Subject.CommonName != "" {
		names = append(names, c.Subject.CommonName)
	}
	if len(names) == 0 {
		return "no names"
	}
	return strings.Join(names, ", ")
}
