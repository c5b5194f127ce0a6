package authz

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch follows the policy file and reloads it when it changes, until ctx
// is done; then it returns nil. It watches the file's directory, not the
// file: editors save by writing a new file and renaming it over the old one,
// and Kubernetes updates a mounted ConfigMap by swapping a "..data"
// symlink, and either way a watch on the file itself goes stale. Any
// event in the directory (after a quiet spell of the debounce interval)
// leads to a Reload, which leaves an unchanged file alone and keeps the
// last good policy when the new one is invalid. A file that is itself a
// symlink into another directory is followed only through events in its
// own directory. Watch on a NewStatic Authorizer returns ErrStatic.
func (a *Authorizer) Watch(ctx context.Context) error {
	if a.path == "" {
		return ErrStatic
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch policy: %w", err)
	}
	defer w.Close()
	dir := filepath.Dir(a.path)
	if err := w.Add(dir); err != nil {
		return fmt.Errorf("watch policy directory %s: %w", dir, err)
	}
	a.log.Info("watching policy file", "dir", dir)
	// The file may have changed between the first load and the watch.
	_ = a.Reload() // its error is logged; the watch goes on

	debounce := time.NewTimer(a.debounce)
	debounce.Stop()
	defer debounce.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("watch policy: event channel closed")
			}
			if ev.Op == fsnotify.Chmod {
				continue // content unchanged
			}
			debounce.Reset(a.debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("watch policy: error channel closed")
			}
			a.log.Warn("policy watch error", "err", err)
		case <-debounce.C:
			_ = a.Reload() // its error is logged; the last good policy stays
		}
	}
}
