package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Destination says where a reply goes when no request is waiting for it:
// the outcome of an approved job resumed after a restart, an alert from
// the watcher. Adapters fill Request.Origin with one; commands and
// background work keep it (in the store) and hand it back to Deliver.
// Every field but Platform is the adapter's own spelling, opaque to
// everyone else, and must hold no secret (it is stored as it is).
type Destination struct {
	Platform Platform `json:"platform"`
	// Channel is the channel or conversation, as in Request.Channel; ""
	// for the console.
	Channel string `json:"channel,omitempty"`
	// Conversation is what the adapter needs to post there proactively
	// (Teams: service URL, tenant and conversation id; Slack: the
	// channel and thread), opaque outside the adapter.
	Conversation string `json:"conversation,omitempty"`
	// Message names an existing message to replace (as Action.MessageRef
	// does); "" posts a new message.
	Message string `json:"message,omitempty"`
}

// IsZero reports whether d names nowhere.
func (d Destination) IsZero() bool { return d == Destination{} }

// Deliverer posts or replaces a message without a live request. Each
// adapter implements it for its own platform; the returned Destination
// names the message that was posted or replaced, so a later Deliver can
// replace it again (an alert updated in place while it fires).
type Deliverer interface {
	Deliver(ctx context.Context, dst Destination, r Reply) (Destination, error)
}

// Deliverers routes a Deliver to the adapter of the destination's
// platform.
type Deliverers map[Platform]Deliverer

// Deliver hands r to the adapter of dst.Platform.
func (ds Deliverers) Deliver(ctx context.Context, dst Destination, r Reply) (Destination, error) {
	d, ok := ds[dst.Platform]
	if !ok {
		return dst, &NoDelivererError{Platform: dst.Platform}
	}
	return d.Deliver(ctx, dst, r)
}

// NoDelivererError: no adapter of that platform runs in this process
// (Teams configured on another replica, or turned off since).
type NoDelivererError struct{ Platform Platform }

func (e *NoDelivererError) Error() string {
	return "deliver: no " + string(e.Platform) + " adapter runs here"
}

// Fitter is an optional interface of a Deliverer: Fit is what its adapter
// sets as Request.Fit, so that a reply built without a request (a resumed
// job's outcome) is paged for the platform it goes to like any other.
type Fitter interface {
	Fit(r Reply) int
}

// FitFor returns the Fit of the adapter of platform p, or nil (no limit)
// when it has none or does not run here.
func (ds Deliverers) FitFor(p Platform) func(Reply) int {
	if f, ok := ds[p].(Fitter); ok {
		return f.Fit
	}
	return nil
}

// deliveredCSV names the CSV FitDelivered attaches.
const deliveredCSV = "rows.csv"

// FitDelivered fits r to one message of the adapter whose Request.Fit is
// fit, for a reply built without a request and so never paged (an alert,
// an outcome built elsewhere): when its table holds more rows than fit,
// the table is cut to those that do and the whole table is attached as a
// CSV (unless r carries one already), with a line saying so. Every row
// still reaches the reader. attach says whether the adapter can attach a
// file at all (Teams without file links cannot): when it cannot, the
// table is cut all the same and the line says the rest cannot be shown
// here, rather than name a file the reader never gets. Adapters call it
// in Deliver.
func FitDelivered(r Reply, fit func(Reply) int, attach bool) Reply {
	if r.Table == nil || fit == nil || len(r.Table.Rows) == 0 {
		return r
	}
	full := r.Table
	out := r
	if attach {
		name := csvName(r.Files)
		if name == "" {
			name = deliveredCSV
			out.Files = append(slices.Clip(r.Files), File{Name: name, Type: "text/csv", Data: TableCSV(full)})
		}
		out.Summary = append(slices.Clip(r.Summary), fmt.Sprintf("Not every row fits in one message: %s holds all %d.", name, len(full.Rows)))
	} else {
		out.Summary = append(slices.Clip(r.Summary), fmt.Sprintf("Not every row of %d fits in one message, and no file can be attached here for the rest.", len(full.Rows)))
	}
	n := Request{Fit: fit}.FitRows(out) // with the note and the file it adds
	if n >= len(full.Rows) {
		return r
	}
	t := *full
	t.Rows = full.Rows[:n]
	t.TotalRows = max(t.TotalRows, t.Offset+len(full.Rows))
	out.Table = &t
	return out
}

// HasCSV reports whether files hold a CSV.
func HasCSV(files []File) bool { return csvName(files) != "" }

// csvName is the name of the first CSV in files, "" when none.
func csvName(files []File) string {
	for _, f := range files {
		if f.Type == "text/csv" || strings.HasSuffix(strings.ToLower(f.Name), ".csv") {
			return f.Name
		}
	}
	return ""
}
