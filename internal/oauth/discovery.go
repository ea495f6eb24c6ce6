package oauth

import (
	"encoding/json"
	"net/http"
)

// Discovery is the OpenID Provider Metadata document (OIDC Discovery
// section 3, RFC 8414), with its fields in a fixed order.
type Discovery struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	ScopesSupported                            []string `json:"scopes_supported"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	SubjectTypesSupported                      []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgValuesSupported []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	ClaimsSupported                            []string `json:"claims_supported"`
	PromptValuesSupported                      []string `json:"prompt_values_supported"`
	ClaimsParameterSupported                   bool     `json:"claims_parameter_supported"`
	RequestParameterSupported                  bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported               bool     `json:"request_uri_parameter_supported"`
	AuthorizationResponseISSParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
}

// Discovery returns the server's metadata document.
func (s *Server) Discovery() Discovery {
	algs := make([]string, len(assertionAlgs))
	for i, a := range assertionAlgs {
		algs[i] = string(a)
	}
	return Discovery{
		Issuer:                                     s.issuer,
		AuthorizationEndpoint:                      s.authorizeURL,
		TokenEndpoint:                              s.tokenURL,
		JWKSURI:                                    s.jwksURL,
		ScopesSupported:                            append([]string(nil), s.scopes...),
		ResponseTypesSupported:                     []string{"code"},
		ResponseModesSupported:                     []string{"query"},
		GrantTypesSupported:                        []string{grantAuthorizationCode, grantClientCredentials},
		SubjectTypesSupported:                      []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:           []string{"RS256", "ES256"},
		TokenEndpointAuthMethodsSupported:          []string{AuthPrivateKeyJWT, AuthClientSecretBasic, AuthClientSecretPost, AuthNone},
		TokenEndpointAuthSigningAlgValuesSupported: algs,
		CodeChallengeMethodsSupported:              []string{pkceS256},
		ClaimsSupported:                            []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "at_hash"},
		PromptValuesSupported:                      []string{"none"},
		ClaimsParameterSupported:                   false,
		RequestParameterSupported:                  false,
		RequestURIParameterSupported:               false,
		AuthorizationResponseISSParameterSupported: true,
	}
}

// serveDiscovery serves GET /.well-known/openid-configuration.
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	writePublicJSON(w, s.Discovery())
}

// serveJWKS serves GET /jwks: the public signing keys.
func (s *Server) serveJWKS(w http.ResponseWriter, r *http.Request) {
	writePublicJSON(w, s.keys.Load().PublicJWKS())
}

// writePublicJSON writes a cacheable public document, indented for people.
func writePublicJSON(w http.ResponseWriter, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(append(body, '\n'))
}
