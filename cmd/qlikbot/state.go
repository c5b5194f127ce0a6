package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/seal"
)

// How the store is waited for at start-up: each Ping bounded, the pause
// between attempts doubling up to a cap, until the store answers or
// qlikbot stops.
const (
	storePingTimeout = 5 * time.Second
	storeRetryFirst  = 200 * time.Millisecond
	storeRetryMax    = 10 * time.Second
)

// buildStore opens the store QLIKBOT_STORE names, or the default bolt
// file, and returns the bolt file's path ("" for Redis). Redis is not
// dialled here: awaitStore does that once qlikbot runs.
func (a *app) buildStore(ctx context.Context) (boltPath string, err error) {
	url := a.cfg.Store
	if url == "" && a.cfg.Demo() {
		dir, err := os.MkdirTemp("", "qlikbot-demo-")
		if err != nil {
			return "", fmt.Errorf("demo state dir: %w", err)
		}
		a.tempDir = dir
		url = "bolt://" + filepath.Join(dir, "state.db")
	} else if url == "" {
		url = "bolt://" + defaultStateFile
	}
	kind, path := storeTarget(url)
	if a.cfg.StoreCA != "" {
		pemData, err := readSettingFile("QLIKBOT_STORE_CA", a.cfg.StoreCA, "the PEM file of the CA that signed the Redis server's certificate")
		if err != nil {
			return "", err
		}
		if !x509.NewCertPool().AppendCertsFromPEM(pemData) {
			return "", badSetting("QLIKBOT_STORE_CA", a.cfg.StoreCA, "it holds no PEM certificate", "the PEM file of the CA that signed the Redis server's certificate")
		}
	}
	opts := []store.Option{
		// The store logs "store opened" itself once it has answered.
		store.WithLogger(a.log.With("component", "store")),
		store.WithTLSCAFile(a.cfg.StoreCA),
		store.WithHistoryRetention(a.cfg.HistoryRaw, a.cfg.HistoryKeep),
	}
	st, err := store.Open(ctx, url, opts...)
	if err != nil {
		return "", configErr("QLIKBOT_STORE: %v", err)
	}
	a.store, a.storeURL = st, url
	if kind != "bolt" {
		path = ""
	}
	return path, nil
}

// buildSealer makes the sealer that signs pending approvals and jobs:
// QLIKBOT_STATE_KEY, or with bolt and no key, the key kept beside the
// state file (created on first start). The key is never logged.
func (a *app) buildSealer(boltPath string) error {
	current, old, err := a.cfg.stateKeys()
	if err != nil {
		return err
	}
	source := "QLIKBOT_STATE_KEY"
	if current == nil {
		// validate refuses Redis without a key, so boltPath is set.
		keyFile := boltPath + ".key"
		k, created, err := seal.LoadOrCreateKeyFile(keyFile)
		if err != nil {
			return configErr("QLIKBOT_STATE_KEY is not set and the key file beside the state file is not usable (%v); want a readable key file %s (mode 0600), or QLIKBOT_STATE_KEY", err, keyFile)
		}
		switch {
		case created && a.tempDir != "":
			a.log.Debug("state key created for the demo", "path", keyFile)
		case created:
			a.log.Info("state key created; keep it with the state file", "path", keyFile)
		}
		current, source = k, keyFile
	}
	s, err := seal.New(current, old...)
	if err != nil {
		return configErr("QLIKBOT_STATE_KEY: %v", err)
	}
	a.sealer = s
	a.log.Debug("state key", "from", source, "key_id", s.KeyID(), "old_keys", len(old))
	return nil
}

// storeStatus is whether the store has answered since start-up, and if
// not, why: /readyz says it. Safe for concurrent use.
type storeStatus struct {
	mu       sync.Mutex
	answered bool
	lastErr  error
}

func (s *storeStatus) set(answered bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answered, s.lastErr = answered, err
}

func (s *storeStatus) get() (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answered, s.lastErr
}

// storeReady is the store's readiness check.
func (a *app) storeReady(ctx context.Context) error {
	answered, err := a.storeStatus.get()
	switch {
	case answered:
		return a.store.Ping(ctx)
	case err == nil:
		return errors.New("not answered yet since start-up")
	default:
		return fmt.Errorf("not answered since start-up, retrying: %w", err)
	}
}

// awaitStore pings the store until it answers, with a bounded backoff,
// (the store then logs "store opened"). Meanwhile qlikbot runs: /readyz says why
// it is not ready, and commands that need the store say it is unavailable.
func (a *app) awaitStore(ctx context.Context) error {
	shown := store.RedactURL(a.storeURL)
	delay := storeRetryFirst
	for attempt := 1; ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, storePingTimeout)
		err := a.store.Ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			a.storeStatus.set(true, nil)
			if attempt > 1 {
				a.log.Info("store answered", "store", shown, "attempts", attempt)
			}
			return nil
		}
		a.storeStatus.set(false, err)
		a.log.Warn("store does not answer; retrying", "store", shown, "attempt", attempt, "retry_in", delay, "err", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		delay = min(2*delay, storeRetryMax)
	}
}
