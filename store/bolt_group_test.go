package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// queuedGroup holds a commit open with a blocking call, queues the calls
// fns behind it, then lets everything run; it returns each call's error.
func queuedGroup(t *testing.T, g *groupCommit, fns []func(*bolt.Tx) error) []error {
	t.Helper()
	entered, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = g.update(t.Context(), func(*bolt.Tx) error {
			close(entered)
			<-release
			return nil
		})
	})
	<-entered
	errs := make([]error, len(fns))
	for i, fn := range fns {
		wg.Go(func() { errs[i] = g.update(t.Context(), fn) })
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		g.mu.Lock()
		queued := len(g.queue)
		g.mu.Unlock()
		if queued == len(fns) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d calls queued", queued, len(fns))
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	return errs
}

func openGroupDB(t *testing.T) *groupCommit {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "g.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err }); err != nil {
		t.Fatal(err)
	}
	return &groupCommit{db: db}
}

// TestGroupCommitShares: calls that queue during a commit share the next
// one, and each returns only after it.
func TestGroupCommitShares(t *testing.T) {
	t.Parallel()
	g := openGroupDB(t)
	const n = 20
	txs := make([]*bolt.Tx, n)
	fns := make([]func(*bolt.Tx) error, n)
	for i := range n {
		fns[i] = func(tx *bolt.Tx) error {
			txs[i] = tx
			return tx.Bucket([]byte("b")).Put([]byte(fmt.Sprint(i)), []byte("v"))
		}
	}
	if err := errors.Join(queuedGroup(t, g, fns)...); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if txs[i] != txs[0] {
			t.Fatalf("call %d ran in another transaction than call 0: %d commits for one queue", i, n)
		}
	}
	err := g.db.View(func(tx *bolt.Tx) error {
		if got := tx.Bucket([]byte("b")).Stats().KeyN; got != n {
			return fmt.Errorf("%d keys committed, want %d", got, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// putCalls are n calls that each put their number; call bad then fails
// as fail does (an error, a panic).
func putCalls(n, bad int, fail func() error) []func(*bolt.Tx) error {
	fns := make([]func(*bolt.Tx) error, n)
	for i := range n {
		fns[i] = func(tx *bolt.Tx) error {
			if err := tx.Bucket([]byte("b")).Put([]byte(fmt.Sprint(i)), []byte("v")); err != nil {
				return err
			}
			if i == bad {
				return fail()
			}
			return nil
		}
	}
	return fns
}

// checkFailedOne checks that call bad alone failed with want and left
// nothing, and every other call was committed.
func checkFailedOne(t *testing.T, g *groupCommit, errs []error, bad int, want error) {
	t.Helper()
	for i, err := range errs {
		if (i == bad) != errors.Is(err, want) || (i != bad && err != nil) {
			t.Errorf("call %d: %v", i, err)
		}
	}
	err := g.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("b"))
		for i := range errs {
			if got := b.Get([]byte(fmt.Sprint(i))) != nil; got != (i != bad) {
				return fmt.Errorf("key %d stored = %v", i, got)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestGroupCommitIsolatesFailure: one failing call in a group gets its
// error and leaves nothing; the others are committed.
func TestGroupCommitIsolatesFailure(t *testing.T) {
	t.Parallel()
	g := openGroupDB(t)
	boom := errors.New("boom")
	const n, bad = 10, 4
	checkFailedOne(t, g, queuedGroup(t, g, putCalls(n, bad, func() error { return boom })), bad, boom)
}

// TestGroupCommitPanic: a call that panics, alone or in a group, gets an
// error wrapping ErrPanic and leaves nothing; the others are committed,
// and later calls do not hang.
func TestGroupCommitPanic(t *testing.T) {
	t.Parallel()
	g := openGroupDB(t)
	const n, bad = 6, 2
	checkFailedOne(t, g, queuedGroup(t, g, putCalls(n, bad, func() error { panic("bug") })), bad, ErrPanic)
	if err := g.update(t.Context(), func(*bolt.Tx) error { panic("alone") }); !errors.Is(err, ErrPanic) {
		t.Errorf("a lone call that panics: %v, want ErrPanic", err)
	}
	if err := g.update(t.Context(), func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte("after"), []byte("v")) }); err != nil {
		t.Fatalf("a call after a panic: %v", err)
	}
}

// TestGroupCommitQueuedCancel: a queued caller whose context ends returns
// its error without waiting for the commit ahead, and its work is never
// done; the queue goes on.
func TestGroupCommitQueuedCancel(t *testing.T) {
	t.Parallel()
	g := openGroupDB(t)
	entered, release := make(chan struct{}), make(chan struct{})
	leader := make(chan error, 1)
	go func() {
		leader <- g.update(t.Context(), func(*bolt.Tx) error {
			close(entered)
			<-release
			return nil
		})
	}()
	<-entered
	ctx, cancel := context.WithCancel(t.Context())
	queued := make(chan error, 1)
	ran := false
	go func() {
		queued <- g.update(ctx, func(tx *bolt.Tx) error {
			ran = true
			return nil
		})
	}()
	for {
		g.mu.Lock()
		n := len(g.queue)
		g.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-queued; !errors.Is(err, context.Canceled) {
		t.Fatalf("queued call after cancel: %v, want context.Canceled", err)
	}
	close(release)
	if err := <-leader; err != nil {
		t.Fatal(err)
	}
	if err := g.update(t.Context(), func(*bolt.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if ran {
		t.Error("the work of a caller that gave up was done")
	}
}
