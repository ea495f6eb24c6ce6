package vonage

import (
	"regexp"
	"slices"

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

// allowedScope reports whether the application may ask for scope: an
// application registered without scopes may ask for every served scope;
// otherwise the scope must be listed, character for character.
func allowedScope(c store.Client, scope string) bool {
	return len(c.Scopes) == 0 || slices.Contains(c.Scopes, scope)
}
