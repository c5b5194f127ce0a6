package store

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestJSONBytes: opaque bytes in a watch record round-trip exactly; a
// compact JSON object (a sealed record) is stored as it is, not base64'd
// a second time; records written before (base64) still read.
func TestJSONBytes(t *testing.T) {
	t.Parallel()
	sealed := []byte(`{"v":1,"kind":"alert-destination","key":"ab12cd34","mac":"bWFj","data":"eyJwbGF0Zm9ybSI6InNsYWNrIn0="}`)
	for _, c := range []struct {
		name string
		in   []byte
		raw  bool
	}{
		{"sealed", sealed, true},
		{"spaced", []byte(`{"a": 1}`), false},
		{"escaped by encoding/json", []byte(`{"a":"<b>"}`), false},
		{"line separator", []byte("{\"a\":\"\u2028\"}"), false},
		{"binary", []byte{0, 1, 2, '{', 0xff}, false},
		{"not an object", []byte(`[1,2]`), false},
		{"invalid", []byte(`{"a":`), false},
	} {
		rec := alertMessage{Target: "slack:C1", Dest: c.in, At: time.Unix(0, 0).UTC()}
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var back alertMessage
		if err := json.Unmarshal(b, &back); err != nil || !bytes.Equal(back.Dest, c.in) {
			t.Errorf("%s: read back %q, %v; want %q", c.name, back.Dest, err, c.in)
		}
		if got := bytes.Contains(b, c.in); got != c.raw {
			t.Errorf("%s: stored as is = %v, want %v: %s", c.name, got, c.raw, b)
		}
	}
	legacy := `{"target":"slack:C1","dest":"` + base64.StdEncoding.EncodeToString(sealed) + `","at":"1970-01-01T00:00:00Z"}`
	var back alertMessage
	if err := json.Unmarshal([]byte(legacy), &back); err != nil || !bytes.Equal(back.Dest, sealed) {
		t.Errorf("a record written before: %q, %v", back.Dest, err)
	}
	a := Alert{Key: AlertKey{Rule: "r"}, State: AlertFiring, Since: time.Unix(0, 0), Detail: sealed,
		Messages: []AlertMessage{{Target: "slack:C1", Dest: sealed}}}
	enc, err := encodeAlert(a, 1)
	if err != nil || strings.Count(string(enc), string(sealed)) != 2 {
		t.Errorf("alert record: %s, %v; want the detail and the destination stored as they are", enc, err)
	}
}
