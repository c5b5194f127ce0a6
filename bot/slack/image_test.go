package slackbot

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
)

// TestDeliverImage: a reply with a PNG (a trend chart) is posted in the
// channel and the image uploaded there whole, with its name, through the
// v2 upload (Slack shows an uploaded image in the channel).
func TestDeliverImage(t *testing.T) {
	t.Parallel()
	fake := newFakeSlack(t)
	a, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-image", SigningSecret: vecSecret, APIURL: fake.GetAPIURL()},
		newRecorder(), openBolt(t, time.Now))
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	r := bot.Reply{Title: "Sessions per virtual proxy, last 24 h", Visibility: bot.InChannel,
		Table: &bot.Table{Columns: []string{"Virtual proxy", "Latest"}, Rows: [][]string{{"win", "6"}}, TotalRows: 1},
		Files: []bot.File{{Name: "trend-prod.png", Type: "image/png", Data: buf.Bytes()}}}
	if _, err := a.Deliver(t.Context(), bot.Destination{Platform: bot.Slack, Channel: "C0OPS"}, r); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	post, _ := fake.nextPath(t, "/chat.postMessage")
	if post.Form.Get("channel") != "C0OPS" || !strings.Contains(post.text(), "win") {
		t.Errorf("the message: %v", post.Form)
	}
	ask, _ := fake.nextPath(t, "/files.getUploadURLExternal")
	if ask.Form.Get("filename") != "trend-prod.png" || ask.Form.Get("length") != strconv.Itoa(buf.Len()) {
		t.Errorf("upload asked for %v", ask.Form)
	}
	up, _ := fake.nextPath(t, "/upload/")
	got, err := png.Decode(strings.NewReader(up.File))
	if err != nil || got.Bounds().Dx() != 4 || up.File != buf.String() {
		t.Fatalf("the uploaded file is not the PNG: %v", err)
	}
	done, _ := fake.nextPath(t, "/files.completeUploadExternal")
	if done.Form.Get("channel_id") != "C0OPS" {
		t.Errorf("the upload is shared in %q, want C0OPS", done.Form.Get("channel_id"))
	}
}
