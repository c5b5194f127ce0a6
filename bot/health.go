package bot

import "errors"

// ErrDegraded marks a readiness error that is a note, not a failure: the
// adapter serves requests but without something optional (Slack e-mail
// lookups without the users:read.email scope ...). /readyz shows such an
// error and still answers ready. Adapters wrap it:
// fmt.Errorf("%w: ...", bot.ErrDegraded).
var ErrDegraded = errors.New("degraded")
