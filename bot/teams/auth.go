package teams

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// clockSkew is the leeway on exp and nbf that Microsoft documents.
const clockSkew = 5 * time.Minute

// Authentication failures. errUnauthenticated maps to 401: the token is
// missing or not one the Bot Framework issued for this bot.
// errForbidden maps to 403: a genuine token that does not vouch for this
// activity (serviceUrl or channel).
var (
	errUnauthenticated = errors.New("unauthenticated")
	errForbidden       = errors.New("forbidden")
)

// botClaims are the claims the Bot Framework puts in its tokens.
type botClaims struct {
	jwt.RegisteredClaims
	ServiceURL string `json:"serviceurl"`
}

// verifiedToken is what a valid token vouches for.
type verifiedToken struct {
	serviceURL string
	key        signingKey
}

// validator checks Bot Framework bearer tokens. Safe for concurrent use.
type validator struct {
	keys   *keyCache
	parser *jwt.Parser
}

func newValidator(keys *keyCache, issuer, audience string, now func() time.Time) *validator {
	return &validator{
		keys: keys,
		parser: jwt.NewParser(
			// RS256 only: "none" and HS256 signed with the public key
			// (algorithm confusion) are refused before any key is used.
			jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
			jwt.WithIssuer(issuer),
			jwt.WithAudience(audience),
			jwt.WithLeeway(clockSkew),
			jwt.WithTimeFunc(now),
			jwt.WithExpirationRequired(),
		),
	}
}

// token verifies the Authorization header value: signature, alg, issuer,
// audience, exp and nbf. The activity-bound checks are in bind.
func (v *validator) token(ctx context.Context, authorization string) (verifiedToken, error) {
	raw, ok := strings.CutPrefix(authorization, "Bearer ")
	raw = strings.TrimSpace(raw)
	if !ok || raw == "" {
		return verifiedToken{}, fmt.Errorf("%w: no bearer token", errUnauthenticated)
	}
	var (
		claims botClaims
		key    signingKey
	)
	_, err := v.parser.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("token has no kid")
		}
		k, err := v.keys.key(ctx, kid)
		if err != nil {
			return nil, err
		}
		key = k
		return k.pub, nil
	})
	if err != nil {
		return verifiedToken{}, fmt.Errorf("%w: %w", errUnauthenticated, err)
	}
	return verifiedToken{serviceURL: claims.ServiceURL, key: key}, nil
}

// bind checks that the token vouches for this activity: its serviceurl
// claim is the activity's serviceUrl and its key is endorsed for the
// activity's channel.
func (t verifiedToken) bind(serviceURL, channelID string) error {
	if t.serviceURL == "" || !sameServiceURL(t.serviceURL, serviceURL) {
		return fmt.Errorf("%w: serviceUrl does not match the token's serviceurl claim", errForbidden)
	}
	if !t.key.endorses(channelID) {
		return fmt.Errorf("%w: signing key is not endorsed for channel %q", errForbidden, channelID)
	}
	return nil
}

// sameServiceURL compares service URLs ignoring one trailing slash, which
// channels add or drop inconsistently.
func sameServiceURL(a, b string) bool {
	return strings.TrimSuffix(a, "/") == strings.TrimSuffix(b, "/")
}
