package slackbot

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"
)

// apiCall is one request the fake Slack received.
type apiCall struct {
	Path string
	Form url.Values     // Web API methods (form-encoded)
	JSON map[string]any // response_url posts
	File string         // uploaded file content
}

// blocksJSON returns the call's blocks as generic JSON.
func (c apiCall) blocksJSON(t *testing.T) []map[string]any {
	t.Helper()
	var raw any
	if c.JSON != nil {
		raw = c.JSON["blocks"]
	} else {
		var bs []map[string]any
		if err := json.Unmarshal([]byte(c.Form.Get("blocks")), &bs); err != nil {
			t.Fatalf("blocks of %s: %v", c.Path, err)
		}
		return bs
	}
	b, _ := json.Marshal(raw)
	var bs []map[string]any
	_ = json.Unmarshal(b, &bs)
	return bs
}

// text is everything human-readable in the call, for loose assertions.
func (c apiCall) text() string {
	if c.JSON != nil {
		b, _ := json.Marshal(c.JSON)
		return string(b)
	}
	return c.Form.Get("text") + c.Form.Get("blocks")
}

// fakeSlack is slacktest's server with the handlers slacktest lacks
// (chat.update, the v2 file upload, response_url hooks) and every call
// recorded. Handlers only record; tests assert on their own goroutine.
type fakeSlack struct {
	*slacktest.Server
	calls chan apiCall

	mu        sync.Mutex
	limited   map[string]int // path -> 429s still to send
	hookFails map[string]int // response_url path -> status to answer
	ts        int
}

func newFakeSlack(t *testing.T, extra ...slacktest.Binder) *fakeSlack {
	t.Helper()
	f := &fakeSlack{calls: make(chan apiCall, 256), limited: map[string]int{}, hookFails: map[string]int{}}
	binders := append([]slacktest.Binder{func(c slacktest.Customize) {
		for _, p := range []string{"/chat.postMessage", "/chat.postEphemeral", "/chat.update",
			"/files.getUploadURLExternal", "/files.completeUploadExternal", "/upload/", "/hooks/"} {
			c.Handle(p, f.handle)
		}
	}}, extra...)
	f.Server = slacktest.NewTestServer(binders...)
	f.Start()
	t.Cleanup(f.Stop)
	return f
}

func (f *fakeSlack) rateLimit(path string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limited[path] = n
}

func (f *fakeSlack) failHook(path string, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hookFails[path] = status
}

func (f *fakeSlack) hookURL(name string) string { return f.GetAPIURL() + "hooks/" + name }

func (f *fakeSlack) handle(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	f.mu.Lock()
	if f.limited[path] > 0 {
		f.limited[path]--
		f.mu.Unlock()
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusTooManyRequests)
		f.calls <- apiCall{Path: path + " (429)"}
		return
	}
	hookStatus := f.hookFails[path]
	f.ts++
	ts := fmt.Sprintf("1700000000.%06d", f.ts)
	f.mu.Unlock()

	call := apiCall{Path: path}
	switch {
	case strings.HasPrefix(path, "/hooks/"):
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &call.JSON)
	case strings.HasPrefix(path, "/upload/"):
		if file, _, err := r.FormFile("file"); err == nil {
			b, _ := io.ReadAll(file)
			call.File = string(b)
		}
	default:
		_ = r.ParseForm()
		call.Form = r.PostForm
	}
	f.calls <- call

	if hookStatus != 0 {
		http.Error(w, "expired_url", hookStatus)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch path {
	case "/files.getUploadURLExternal":
		fmt.Fprintf(w, `{"ok":true,"upload_url":%q,"file_id":"F123"}`, f.GetAPIURL()+"upload/F123")
	case "/files.completeUploadExternal":
		fmt.Fprint(w, `{"ok":true,"files":[{"id":"F123","title":"x"}]}`)
	case "/chat.postEphemeral":
		fmt.Fprintf(w, `{"ok":true,"message_ts":%q}`, ts)
	default:
		if strings.HasPrefix(path, "/hooks/") || strings.HasPrefix(path, "/upload/") {
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, "ok")
			return
		}
		channel := call.Form.Get("channel")
		if path == "/chat.postMessage" && strings.HasPrefix(channel, "U") {
			channel = "D" + channel[1:] // as Slack: the direct message with that user
		}
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":%q}`, channel, ts)
	}
}

// next returns the next recorded call, waiting at most 10 s.
func (f *fakeSlack) next(t *testing.T) apiCall {
	t.Helper()
	return f.nextWithin(t, 10*time.Second)
}

func (f *fakeSlack) nextWithin(t *testing.T, d time.Duration) apiCall {
	t.Helper()
	select {
	case c := <-f.calls:
		return c
	case <-time.After(d):
		t.Fatalf("no Slack API call within %s", d)
		return apiCall{}
	}
}

// nextPath skips calls until one to path (prefix) arrives; it returns the
// calls it skipped too.
func (f *fakeSlack) nextPath(t *testing.T, prefix string) (apiCall, []apiCall) {
	t.Helper()
	return f.nextPathWithin(t, prefix, 10*time.Second)
}

func (f *fakeSlack) nextPathWithin(t *testing.T, prefix string, d time.Duration) (apiCall, []apiCall) {
	t.Helper()
	var skipped []apiCall
	for {
		c := f.nextWithin(t, d)
		if strings.HasPrefix(c.Path, prefix) {
			return c, skipped
		}
		skipped = append(skipped, c)
	}
}

// none asserts no further call is queued right now.
func (f *fakeSlack) none(t *testing.T) {
	t.Helper()
	select {
	case c := <-f.calls:
		t.Errorf("unexpected Slack call %s", c.Path)
	default:
	}
}
