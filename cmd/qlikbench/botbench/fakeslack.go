package botbench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// hookPost is one reply posted to a response_url.
type hookPost struct {
	Hook string // the name after /hooks/
	Text string // the fallback text (bot.PlainText of the reply)
	Type string // response_type
}

// fakeSlack stands in for Slack's Web API and response_url hooks: it
// answers what slack-go expects and records what arrived. Handlers only
// record; callers wait and check on their own goroutine.
type fakeSlack struct {
	srv     *httptest.Server
	changed chan struct{} // signalled (without blocking) on every record

	mu      sync.Mutex
	hooks   []hookPost
	uploads int // completed file uploads
	calls   int // other Web API calls
}

func newFakeSlack() *fakeSlack {
	f := &fakeSlack{changed: make(chan struct{}, 1)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

func (f *fakeSlack) URL() string { return f.srv.URL }

func (f *fakeSlack) close() { f.srv.Close() }

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, "/hooks/"):
		var msg struct {
			Text         string `json:"text"`
			ResponseType string `json:"response_type"`
		}
		err := json.NewDecoder(r.Body).Decode(&msg)
		if err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		f.record(func() {
			f.hooks = append(f.hooks, hookPost{Hook: strings.TrimPrefix(path, "/hooks/"), Text: msg.Text, Type: msg.ResponseType})
		})
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "ok")
	case strings.HasPrefix(path, "/upload/"):
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "ok")
	case path == "/files.getUploadURLExternal":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"ok":true,"upload_url":%q,"file_id":"FBENCH"}`, f.srv.URL+"/upload/FBENCH")
	case path == "/files.completeUploadExternal":
		f.record(func() { f.uploads++ })
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true,"files":[{"id":"FBENCH","title":"sessions.csv"}]}`)
	default: // chat.postMessage and friends
		_ = r.ParseForm()
		f.record(func() { f.calls++ })
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":"1700000000.000001","message_ts":"1700000000.000001"}`, r.PostForm.Get("channel"))
	}
}

func (f *fakeSlack) record(change func()) {
	f.mu.Lock()
	change()
	f.mu.Unlock()
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

// waitFor returns when done (called under the lock) holds, or ctx's error.
func (f *fakeSlack) waitFor(ctx context.Context, done func() bool) error {
	for {
		f.mu.Lock()
		ok := done()
		f.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-f.changed:
		}
	}
}

// posts returns a copy of the replies posted so far.
func (f *fakeSlack) posts() []hookPost {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]hookPost(nil), f.hooks...)
}
