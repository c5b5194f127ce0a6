package authz

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/internal/testkit"
)

// Two versions of a policy for console:ann: v1 may list, v2 may also delete.
const (
	policyV1  = "roles: {viewer: [list]}\ngrants: [{subjects: [\"console:ann\"], roles: [viewer], virtualProxies: [\"*\"]}]\n"
	policyV2  = "roles: {lead: [list, delete]}\ngrants: [{subjects: [\"console:ann\"], roles: [lead], virtualProxies: [\"*\"]}]\n"
	policyBad = "roles: {viewer: [list, lst]}\n"
)

var ann = []string{"console:ann"}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer = testkit.Buffer

func testLogger(buf *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// replaceFile saves data the way editors do: a new file renamed over the old.
func replaceFile(t *testing.T, path, data string) {
	t.Helper()
	tmp := path + ".tmp"
	writeFile(t, tmp, data)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func mayDelete(a *Authorizer) bool { return a.Policy().Decide(ann, Delete, Scope{}).Allowed }

func TestNewAuthorizerErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, policyBad)
	tests := []struct {
		name, path string
		is         error
	}{
		{"no path", "", nil},
		{"missing file", filepath.Join(dir, "nope.yaml"), fs.ErrNotExist},
		{"invalid file", bad, ErrInvalid},
		{"a directory", dir, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, err := NewAuthorizer(tc.path)
			if err == nil {
				t.Fatalf("NewAuthorizer = %v, nil; want error", a)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
}

func TestReloadKeepsLastGoodPolicy(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, path, policyV1)
	var logs syncBuffer
	var outcomes []error
	a, err := NewAuthorizer(path, WithLogger(testLogger(&logs)), WithReloadHook(func(err error) { outcomes = append(outcomes, err) }))
	if err != nil {
		t.Fatal(err)
	}
	first := a.Policy()
	if !first.Decide(ann, List, Scope{}).Allowed || mayDelete(a) {
		t.Fatal("v1 not in force after NewAuthorizer")
	}

	if err := a.Reload(); err != nil || a.Policy() != first {
		t.Errorf("Reload of an unchanged file = %v, policy replaced %v", err, a.Policy() != first)
	}

	steps := []struct {
		name    string
		change  func()
		is      error
		logWant string
	}{
		{"invalid file", func() { writeFile(t, path, policyBad) }, ErrInvalid, `unknown permission \"lst\"`},
		{"empty file", func() { writeFile(t, path, "") }, ErrInvalid, "the file is empty"},
		{"missing file", func() { os.Remove(path) }, fs.ErrNotExist, "no such file"},
	}
	for _, s := range steps {
		s.change()
		err := a.Reload()
		if !errors.Is(err, s.is) {
			t.Errorf("%s: Reload = %v, want %v", s.name, err, s.is)
		}
		if a.Policy() != first {
			t.Errorf("%s: the last good policy was replaced", s.name)
		}
		if l := logs.String(); !strings.Contains(l, "keeping the last good policy") || !strings.Contains(l, s.logWant) {
			t.Errorf("%s: log does not say why:\n%s", s.name, l)
		}
	}

	writeFile(t, path, policyV2)
	if err := a.Reload(); err != nil {
		t.Fatalf("Reload of a good file: %v", err)
	}
	if !mayDelete(a) {
		t.Error("v2 not in force after Reload")
	}
	if !strings.Contains(logs.String(), "policy reloaded") {
		t.Errorf("log does not record the reload:\n%s", logs.String())
	}
	if len(outcomes) != 5 || outcomes[0] != nil || outcomes[1] == nil || outcomes[4] != nil {
		t.Errorf("reload hook saw %v", outcomes)
	}
}

func TestStatic(t *testing.T) {
	t.Parallel()
	p := DemoPolicy()
	a := NewStatic(p)
	if a.Policy() != p {
		t.Error("NewStatic does not hold its policy")
	}
	if err := a.Reload(); !errors.Is(err, ErrStatic) {
		t.Errorf("Reload = %v, want ErrStatic", err)
	}
	if err := a.Watch(t.Context()); !errors.Is(err, ErrStatic) {
		t.Errorf("Watch = %v, want ErrStatic", err)
	}
	if d := NewStatic(nil).Policy().Decide([]string{"console:admin"}, List, Scope{}); d.Allowed {
		t.Errorf("NewStatic(nil) allowed %+v", d)
	}
}

// startWatch runs Watch until the test ends and returns a channel of reload
// outcomes.
func startWatch(t *testing.T, path string, logs *syncBuffer) (*Authorizer, <-chan error) {
	t.Helper()
	reloads := make(chan error, 64)
	a, err := NewAuthorizer(path, WithLogger(testLogger(logs)), WithDebounce(10*time.Millisecond),
		WithReloadHook(func(err error) {
			select {
			case reloads <- err:
			default: // the test only needs to be woken up
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Watch(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch returned %v after cancel, want nil", err)
		}
	})
	return a, reloads
}

// waitFor waits, a reload at a time, until cond holds, for at most 10s.
func waitFor(t *testing.T, reloads <-chan error, what string, cond func(error) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case err := <-reloads:
			if cond(err) {
				return
			}
		case <-deadline:
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

func TestWatchRenameOver(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, path, policyV1)
	var logs syncBuffer
	a, reloads := startWatch(t, path, &logs)
	first := a.Policy()

	replaceFile(t, path, policyBad)
	waitFor(t, reloads, "the bad file to be rejected", func(err error) bool { return errors.Is(err, ErrInvalid) })
	if a.Policy() != first {
		t.Fatal("a bad file replaced the policy")
	}

	replaceFile(t, path, policyV2)
	waitFor(t, reloads, "v2 to be in force", func(error) bool { return mayDelete(a) })
	if !strings.Contains(logs.String(), "keeping the last good policy") {
		t.Errorf("the rejected file was not logged:\n%s", logs.String())
	}
}

// TestWatchConfigMapSwap updates the file the way the kubelet updates a
// mounted ConfigMap: policy.yaml -> ..data/policy.yaml, and ..data is a
// symlink that is atomically renamed to point at a new timestamped folder.
func TestWatchConfigMapSwap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	version := func(name, data string) {
		if err := os.Mkdir(filepath.Join(dir, name), 0o700); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, name, "policy.yaml"), data)
		if err := os.Symlink(name, filepath.Join(dir, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	version("..2026_11_22_01", policyV1)
	path := filepath.Join(dir, "policy.yaml")
	if err := os.Symlink(filepath.Join("..data", "policy.yaml"), path); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	a, reloads := startWatch(t, path, &logs)
	if mayDelete(a) {
		t.Fatal("v2 in force too early")
	}
	version("..2026_11_22_02", policyV2)
	waitFor(t, reloads, "v2 to be in force", func(error) bool { return mayDelete(a) })
}

func TestWatchMissingDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "policy.yaml")
	if err := os.Mkdir(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, policyV1)
	a, err := NewAuthorizer(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Dir(path)); err != nil {
		t.Fatal(err)
	}
	if err := a.Watch(t.Context()); err == nil || !strings.Contains(err.Error(), "watch policy directory") {
		t.Errorf("Watch on a missing directory = %v", err)
	}
	if !a.Policy().Decide(ann, List, Scope{}).Allowed {
		t.Error("the policy was lost")
	}
}

// TestDecideWhileReloading runs decisions against reloads under -race: every
// decision must come from one whole policy (v1 or v2), never a mix.
func TestDecideWhileReloading(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, path, policyV1)
	a, err := NewAuthorizer(path)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				p := a.Policy()
				list := p.Decide(ann, List, Scope{VirtualProxy: "finance"})
				del := p.Decide(ann, Delete, Scope{VirtualProxy: "finance"})
				if !list.Allowed || (del.Allowed && del.Role != "lead") || (!del.Allowed && list.Role != "viewer") {
					select {
					case errs <- list.Reason + " | " + del.Reason:
					default:
					}
					return
				}
			}
		})
	}
	for i := range 50 {
		writeFile(t, path, []string{policyV2, policyV1}[i%2])
		if err := a.Reload(); err != nil {
			t.Errorf("Reload %d: %v", i, err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("inconsistent decision: %s", e)
	}
	if mayDelete(a) {
		t.Error("the last reload (v1) is not in force")
	}
}

// TestWatchCatchesEarlierChange: a change between NewAuthorizer and Watch
// gives no event to the watch, so Watch must look at the file once it runs.
func TestWatchCatchesEarlierChange(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, path, policyV1)
	reloads := make(chan error, 8)
	a, err := NewAuthorizer(path, WithReloadHook(func(err error) {
		select {
		case reloads <- err:
		default:
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, policyV2)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Watch(ctx) }()
	waitFor(t, reloads, "v2 to be in force", func(error) bool { return mayDelete(a) })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Watch = %v after cancel, want nil", err)
	}
}
