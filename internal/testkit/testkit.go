// Package testkit holds the small helpers many packages' tests share, so
// each test file does not paste its own: a buffer that is safe for
// concurrent writes (a log sink), a settable clock, and readers for
// oversized request bodies (an endless one and one that counts).
package testkit

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// Buffer is a bytes.Buffer safe for concurrent use, for capturing the
// output of loggers that run on other goroutines.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Len returns the number of bytes written so far.
func (b *Buffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Len()
}

// Clock is a clock that moves only when told to. Safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// CountingReader counts the bytes read through it, to prove a server
// stopped reading a body early. Not safe for concurrent use.
type CountingReader struct {
	R io.Reader
	N int64
}

// Read reads from R and counts.
func (c *CountingReader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.N += int64(n)
	return n, err
}

// Repeat is an endless reader of one byte, for bodies larger than any
// limit (wrap it in io.LimitReader).
type Repeat byte

// Read fills p with the byte.
func (r Repeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}
