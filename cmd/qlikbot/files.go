package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
)

// Download links for files a chat cannot attach (the CSV of a long list in
// Teams). A file is kept in the store under a random token for a while;
// anyone holding the link may fetch it until then, so the token is the
// only secret and it is never logged.

const (
	filesPath     = "/files/"
	fileKeyPrefix = "file:"
	tokenBytes    = 16 // 128 bits
)

// blobStore is the part of store.Store the file links use.
type blobStore interface {
	PutBlob(ctx context.Context, key string, data []byte, ttl time.Duration) error
	GetBlob(ctx context.Context, key string) ([]byte, error)
}

// filePublisher stores files for download and serves them back.
type filePublisher struct {
	st   blobStore
	base string // public base URL, no trailing slash
	ttl  time.Duration
	log  *slog.Logger
}

// storedFile is the stored form of a bot.File.
type storedFile struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Data []byte `json:"data"`
}

func newFilePublisher(st blobStore, publicURL string, ttl time.Duration, log *slog.Logger) (*filePublisher, error) {
	if err := checkPublicURL(publicURL); err != nil {
		return nil, err
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("file ttl %s: must be positive", ttl)
	}
	return &filePublisher{st: st, base: strings.TrimRight(publicURL, "/"), ttl: ttl, log: log}, nil
}

// checkPublicURL accepts an absolute https URL without query, fragment or
// credentials; http only for a loopback host (a test, or a proxy on the
// same machine), since a download link is as good as the file.
func checkPublicURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	switch {
	case u.User != nil:
		return errors.New("it must not carry credentials")
	case u.Host == "" || u.RawQuery != "" || u.Fragment != "":
		return errors.New("not an absolute URL without query or fragment")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return errors.New("http sends download links in clear text (only a loopback host may use http)")
	}
	return fmt.Errorf("scheme %q is not https", u.Scheme)
}

// isLoopback reports whether host is localhost or a loopback IP.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Publish stores f under a fresh token for the TTL and returns its link.
func (p *filePublisher) Publish(ctx context.Context, f bot.File) (string, error) {
	name := safeFileName(f.Name)
	val, err := json.Marshal(storedFile{Name: name, Type: f.Type, Data: f.Data})
	if err != nil {
		return "", fmt.Errorf("publish %s: %w", name, err)
	}
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	token := hex.EncodeToString(b)
	if err := p.st.PutBlob(ctx, fileKeyPrefix+token, val, p.ttl); err != nil {
		return "", fmt.Errorf("publish %s: %w", name, err)
	}
	return p.base + filesPath + token + "/" + url.PathEscape(name), nil
}

// safeFileName keeps a name usable as one path segment and a download name.
func safeFileName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' || r == '"' {
			return '_'
		}
		return r
	}, s)
	if s == "" || s == "." || s == ".." {
		return "file"
	}
	return s
}

// register mounts GET /files/{token}/{name} on mux.
func (p *filePublisher) register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+filesPath+"{token}/{name}", p.serve)
}

// serve answers every token that is malformed, unknown or expired, and a
// name that is not the stored one, with the same 404.
func (p *filePublisher) serve(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if !validToken(token) {
		http.NotFound(w, r)
		return
	}
	raw, err := p.st.GetBlob(r.Context(), fileKeyPrefix+token)
	if errors.Is(err, store.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		p.log.WarnContext(r.Context(), "serve file: store", "err", err)
		http.Error(w, "file store unavailable", http.StatusServiceUnavailable)
		return
	}
	var f storedFile
	if err := json.Unmarshal(raw, &f); err != nil {
		p.log.WarnContext(r.Context(), "serve file: stored file unreadable", "err", err)
		http.NotFound(w, r)
		return
	}
	if r.PathValue("name") != f.Name {
		http.NotFound(w, r)
		return
	}
	ctype := f.Type
	if _, _, err := mime.ParseMediaType(ctype); err != nil {
		ctype = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}))
	h.Set("Content-Length", strconv.Itoa(len(f.Data)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// Should a browser render it anyway, it runs nothing.
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(f.Data)
}

func validToken(s string) bool {
	if len(s) != 2*tokenBytes {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
