package vonage

import (
	"regexp"
	"slices"
	"strings"

	"github.com/numgate/numgate/internal/oauth"
	"github.com/numgate/numgate/internal/store"
)

// Scopes. Vonage's scopes name a purpose and an API: dpv:<purpose>#<api-scope>.
const (
	// APIScopeVerify is the API scope of Number Verification.
	APIScopeVerify = "number-verification-verify-read"
	// ScopeVerify is the scope of Vonage's tutorial and API reference.
	ScopeVerify = "dpv:FraudPreventionAndDetection#" + APIScopeVerify
	// scopeOpenID may precede the scope in an authorization URL (the SDKs'
	// "openid dpv:<purpose>#<api-scope>"); it adds nothing here.
	scopeOpenID = "openid"
)

// scopePattern is a Number Verification scope with any W3C DPV purpose.
var scopePattern = regexp.MustCompile(`^dpv:[A-Z][A-Za-z0-9]{0,127}#` + APIScopeVerify + `$`)

// servedScope reports whether s is a Number Verification scope.
func servedScope(s string) bool { return scopePattern.MatchString(s) }

// allowedScope reports whether the application may ask for scope
// (dpv:<Purpose>#number-verification-verify-read). An application
// registered without scopes may ask for every served scope. Otherwise the
// registration is read as numgate's client registry writes it (`numgate
// clients add --scope`, which refuses the Vonage form): it must list the
// CAMARA scope of the same API, number-verification:verify, and, when it
// lists any dpv: purpose, this scope's purpose too, as the OAuth server
// reads it. A registration listing the Vonage form itself, character for
// character, allows it too.
func allowedScope(c store.Client, scope string) bool {
	if len(c.Scopes) == 0 || slices.Contains(c.Scopes, scope) {
		return true
	}
	purpose, _, _ := strings.Cut(scope, "#")
	if !slices.Contains(c.Scopes, oauth.ScopeNumberVerify) {
		return false
	}
	restrictsPurpose := slices.ContainsFunc(c.Scopes, func(v string) bool {
		return strings.HasPrefix(v, "dpv:") && !strings.Contains(v, "#")
	})
	return !restrictsPurpose || slices.Contains(c.Scopes, purpose)
}
