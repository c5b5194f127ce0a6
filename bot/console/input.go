package console

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// inputLine is one line read from the input. A line longer than the limit
// is not kept: tooLong holds its length and the console refuses it.
type inputLine struct {
	text    string
	tooLong int
}

// lineReader reads lines ending in "\n" (a trailing "\r" is dropped, as
// bufio.ScanLines does) of at most max bytes. Unlike a bufio.Scanner, a
// longer line is skipped and reported, and reading goes on after it.
type lineReader struct {
	r   *bufio.Reader
	max int
}

func newLineReader(in io.Reader, max int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(in, 64<<10), max: max}
}

// next returns the next line; io.EOF once the input is done (a last line
// without a newline is returned first).
func (lr *lineReader) next() (inputLine, error) {
	var (
		buf  []byte
		size int
	)
	for {
		chunk, err := lr.r.ReadSlice('\n')
		size += len(chunk)
		if size <= lr.max+2 { // room for "\r\n"
			buf = append(buf, chunk...)
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil && !errors.Is(err, io.EOF):
			return inputLine{}, err
		case err != nil && size == 0:
			return inputLine{}, io.EOF
		}
		// A whole line (or the last one, without "\n"): chunk ends it.
		ending := len(chunk) - len(bytes.TrimSuffix(bytes.TrimSuffix(chunk, []byte("\n")), []byte("\r")))
		if n := size - ending; n > lr.max {
			return inputLine{tooLong: n}, nil
		}
		return inputLine{text: string(buf[:len(buf)-ending])}, nil
	}
}
