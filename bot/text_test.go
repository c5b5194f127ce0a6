package bot

import (
	"bytes"
	"encoding/csv"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTrimCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"slash command", "/qlik sessions finance", "sessions finance"},
		{"bare qlik", "qlik sessions finance", "sessions finance"},
		{"upper case", "QLIK Sessions", "Sessions"},
		{"already trimmed", "sessions finance", "sessions finance"},
		{"only slash qlik", "/qlik", ""},
		{"only qlik with space", "  qlik  ", ""},
		{"qlik is a prefix of a word", "qlikview sessions", "qlikview sessions"},
		{"qlik later in the line is kept", "sessions qlik", "sessions qlik"},
		{"slack mention", "<@U0123ABC> sessions finance", "sessions finance"},
		{"slack mention with name", "<@U0123ABC|qlikbot> proxies", "proxies"},
		{"slack mention then qlik", "<@U1>  /qlik whoami", "whoami"},
		{"teams mention", "<at>qlikbot</at> sessions finance", "sessions finance"},
		{"teams mention with space in name", "<at>Qlik Bot</at> users", "users"},
		{"teams mention with attribute", `<at id="0">qlikbot</at> help`, "help"},
		{"teams nbsp entity", "<at>qlikbot</at>&nbsp;sessions&nbsp;finance", "sessions finance"},
		{"unicode nbsp", "\u00a0/qlik\u00a0sessions finance\u00a0", "sessions finance"},
		{"zero width space", "\u200bqlik help", "help"},
		{"two mentions", "<@U1> <@U2> audit 5", "audit 5"},
		{"mention later is kept", "kick --user <@U9>", "kick --user <@U9>"},
		{"surrounding space and newline", "\t sessions \n", "sessions"},
		{"empty", "", ""},
		{"interior spacing kept", "delete hdr  abc", "delete hdr  abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := TrimCommand(tt.in); got != tt.want {
				t.Errorf("TrimCommand(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNewRequestID(t *testing.T) {
	t.Parallel()
	shape := regexp.MustCompile(`^[0-9a-f]{12}$`)
	seen := make(map[string]bool)
	for range 1000 {
		id := NewRequestID()
		if !shape.MatchString(id) {
			t.Fatalf("NewRequestID() = %q, want 12 hex digits", id)
		}
		if seen[id] {
			t.Fatalf("NewRequestID() repeated %q within 1000 ids", id)
		}
		seen[id] = true
	}
}

func TestPlainText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Reply
		want string
	}{
		{name: "zero reply", in: Reply{}, want: ""},
		{
			name: "title and summary",
			in:   Reply{Title: "Sessions on finance", Summary: []string{"Total sessions: 2", "Nodes: 1"}},
			want: "Sessions on finance\nTotal sessions: 2\nNodes: 1",
		},
		{
			name: "paged table aligns columns",
			in: Reply{
				Title: "Sessions",
				Table: &Table{
					Columns: []string{"User", "Proxy", "Session"},
					Rows: [][]string{
						{`LAB\anna`, "finance", "a1"},
						{`LAB\bartholomew`, "hdr", "b2"},
					},
					Offset: 2, TotalRows: 6,
				},
			},
			want: "Sessions\n\n" +
				"User             Proxy    Session\n" +
				"----             -----    -------\n" +
				"LAB\\anna         finance  a1\n" +
				"LAB\\bartholomew  hdr      b2\n" +
				"Rows 3–4 of 6",
		},
		{
			name: "unpaged table without paging line",
			in:   Reply{Table: &Table{Columns: []string{"A", "B"}, Rows: [][]string{{"1", "2"}}}},
			want: "A  B\n-  -\n1  2",
		},
		{
			name: "empty table",
			in:   Reply{Table: &Table{Columns: []string{"User"}}},
			want: "User\n----\n(no rows)",
		},
		{
			name: "cells with tabs and newlines stay on one line",
			in:   Reply{Table: &Table{Columns: []string{"A", "B"}, Rows: [][]string{{"x\ty", "p\nq"}}}},
			want: "A    B\n-    -\nx y  p q",
		},
		{
			name: "warnings",
			in:   Reply{Kind: Warning, Title: "Partial", Warnings: []string{"node2 did not answer", "proxy x unlinked"}},
			want: "Partial\n\n! node2 did not answer\n! proxy x unlinked",
		},
		{
			name: "chart scales bars to the largest value",
			in: Reply{Chart: &Chart{Title: "Sessions per proxy", Points: []Point{
				{Label: "finance", Value: 30}, {Label: "hdr", Value: 15}, {Label: "empty", Value: 0}, {Label: "tiny", Value: 0.1},
			}}},
			want: "Sessions per proxy\n" +
				"finance  ############################## 30\n" +
				"hdr      ############### 15\n" +
				"empty     0\n" +
				"tiny     # 0.1",
		},
		{
			name: "buttons numbered",
			in: Reply{Kind: Pending, Title: "Kick 5 sessions on finance?", Buttons: []Button{
				{Label: "Approve", ActionID: "approve", Value: "p1", Style: Primary},
				{Label: "Reject", ActionID: "reject", Value: "p1", Style: Danger},
			}},
			want: "Kick 5 sessions on finance?\n\n[1] Approve  [2] Reject",
		},
		{
			name: "files are not listed",
			in:   Reply{Title: "t", Files: []File{{Name: "s.csv", Type: "text/csv", Data: []byte("a")}}},
			want: "t",
		},
		{
			name: "newline in title cannot fake a line",
			in:   Reply{Title: "a\n! b"},
			want: "a ! b",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := PlainText(tt.in); got != tt.want {
				t.Errorf("PlainText() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestTableCSV(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   *Table
		want [][]string
	}{
		{name: "nil table", in: nil, want: nil},
		{
			name: "header and rows, quoting round-trips",
			in:   &Table{Columns: []string{"User", "Note"}, Rows: [][]string{{`LAB\anna`, `say "hi", then go`}}},
			want: [][]string{{"User", "Note"}, {`LAB\anna`, `say "hi", then go`}},
		},
		{
			name: "formula cells neutralised, numbers kept",
			in:   &Table{Columns: []string{"A"}, Rows: [][]string{{"=HYPERLINK(1)"}, {"+1+2"}, {"@SUM(A1)"}, {"-5"}, {"-"}, {"12"}}},
			want: [][]string{{"A"}, {"'=HYPERLINK(1)"}, {"'+1+2"}, {"'@SUM(A1)"}, {"-5"}, {"'-"}, {"12"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := TableCSV(tt.in)
			if tt.want == nil {
				if out != nil {
					t.Fatalf("TableCSV(nil) = %q, want nil", out)
				}
				return
			}
			got, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
			if err != nil {
				t.Fatalf("TableCSV output does not parse: %v\n%s", err, out)
			}
			if !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("TableCSV() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCommandOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"first word of the text", Request{Text: "sessions finance --sort user"}, "sessions"},
		{"action id of a click", Request{Text: "ignored", Action: &Action{ID: "approve"}}, "approve"},
		{"empty text", Request{Text: "  "}, ""},
		{"long word is cut", Request{Text: strings.Repeat("x", 100)}, strings.Repeat("x", 64)},
		{"cut inside a rune stays valid", Request{Text: strings.Repeat("x", 63) + "é"}, strings.Repeat("x", 63)},
		{"invalid utf-8 removed", Request{Text: "ses\xffsions"}, "sessions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := commandOf(tt.req); got != tt.want {
				t.Errorf("commandOf = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"short", "abc", 5, "abc"},
		{"exact", "abcde", 5, "abcde"},
		{"cut ascii", "abcdef", 5, "abcd…"},
		{"cut multibyte", "åäöüß", 3, "åä…"},
		{"cut emoji", "🙂🙂🙂🙂", 2, "🙂…"},
		{"invalid utf8", "a\xffb", 5, "a\uFFFDb"},
		{"zero", "abc", 0, ""},
		{"one", "abc", 1, "…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Clip(tc.in, tc.n)
			if got != tc.want || !utf8.ValidString(got) {
				t.Errorf("Clip(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
		})
	}
}

func TestOneLine(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"a\r\nb\tc":    "a b c",
		"  x  \n\n y ": "x y",
		"":             "",
		" ":            "",
	} {
		if got := OneLine(in); got != want {
			t.Errorf("OneLine(%q) = %q, want %q", in, got, want)
		}
	}
}
