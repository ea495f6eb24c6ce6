package oauth

import (
	"regexp"
	"slices"
	"strings"

	"github.com/numgate/numgate/internal/store"
)

// purposePrefix marks the one purpose scope of a request (CAMARA ICM,
// Purpose as a scope): dpv:<Value>, a W3C Data Privacy Vocabulary purpose.
const purposePrefix = "dpv:"

// purposeScope is the form of a purpose: DPV purposes are UpperCamelCase
// concept names, for example dpv:FraudPreventionAndDetection.
var purposeScope = regexp.MustCompile(`^dpv:[A-Z][A-Za-z0-9]{0,127}$`)

// validScopeToken reports whether s is an RFC 6749 section 3.3 scope-token:
// one or more of %x21 / %x23-5B / %x5D-7E.
func validScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c == 0x22 || c == 0x5C || c > 0x7E {
			return false
		}
	}
	return true
}

// scopes is a checked scope request: the scope values in request order
// without repeats, and its purpose (one dpv: value, or "").
type scopes struct {
	values  []string
	purpose string
}

func (sc scopes) has(v string) bool { return slices.Contains(sc.values, v) }

func (sc scopes) String() string { return strings.Join(sc.values, " ") }

// parseScope checks a scope parameter against the server's rules, before any
// client is consulted: every value is served or is a purpose; at most one
// purpose; and exactly one purpose as soon as anything beyond openid is
// asked for (personal data is then processed, and CAMARA requires the
// purpose to be declared). Error descriptions never echo the values.
func (s *Server) parseScope(raw string) (scopes, *Error) {
	var sc scopes
	if raw == "" {
		return sc, errorf(ErrCodeInvalidScope, "the scope parameter is required")
	}
	for _, v := range strings.Split(raw, " ") {
		switch {
		case v == "" || slices.Contains(sc.values, v):
			continue
		case !validScopeToken(v):
			return scopes{}, errorf(ErrCodeInvalidScope, "the scope parameter is malformed")
		case strings.HasPrefix(v, purposePrefix):
			if !purposeScope.MatchString(v) {
				return scopes{}, errorf(ErrCodeInvalidScope, "a purpose must be dpv:<Value> with a W3C DPV purpose name")
			}
			if sc.purpose != "" {
				return scopes{}, errorf(ErrCodeInvalidScope, "exactly one dpv: purpose may be given")
			}
			sc.purpose = v
		case !s.served[v]:
			return scopes{}, errorf(ErrCodeInvalidScope, "the scope includes a value this server does not serve (see scopes_supported)")
		}
		sc.values = append(sc.values, v)
	}
	if len(sc.values) == 0 {
		return sc, errorf(ErrCodeInvalidScope, "the scope parameter is required")
	}
	if sc.purpose == "" && slices.ContainsFunc(sc.values, func(v string) bool { return v != ScopeOpenID }) {
		return scopes{}, errorf(ErrCodeInvalidScope, "the scope must declare exactly one purpose as dpv:<Value>")
	}
	return sc, nil
}

// allowedFor checks a parsed scope against the client's registration: an
// empty Client.Scopes allows every served scope and every purpose; otherwise
// each non-purpose value must be listed, and the purpose too when the client
// lists any dpv: purpose.
func allowedFor(c store.Client, sc scopes) *Error {
	if len(c.Scopes) == 0 {
		return nil
	}
	restrictsPurpose := false
	for _, v := range c.Scopes {
		if strings.HasPrefix(v, purposePrefix) {
			restrictsPurpose = true
		}
	}
	for _, v := range sc.values {
		if v == sc.purpose && !restrictsPurpose {
			continue
		}
		if !slices.Contains(c.Scopes, v) {
			return errorf(ErrCodeInvalidScope, "the client is not allowed the requested scope or purpose")
		}
	}
	return nil
}
