package oauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/numgate/numgate/internal/store"
)

// ValidateClient checks a client registration before it is stored (for
// `numgate clients add`) and reports every problem at once: a printable
// client ID; absolute redirect URIs without fragment; a secret hash and salt
// together or not at all; a JWKS of public signing keys, each with an alg
// (if any) it can verify client assertions with; an ID token
// algorithm of "", RS256 or ES256; and well-formed scopes and purposes.
func ValidateClient(c store.Client) error {
	var errs []error
	if c.ID == "" || len(c.ID) > 255 || !printableASCII(c.ID) {
		errs = append(errs, errors.New("the client ID must be 1 to 255 printable ASCII characters without spaces"))
	}
	for _, ru := range c.RedirectURIs {
		u, err := url.Parse(ru)
		if err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(ru, "#") {
			errs = append(errs, fmt.Errorf("redirect URI %q must be absolute and without fragment", ru))
		}
	}
	if (len(c.SecretHash) == 0) != (len(c.SecretSalt) == 0) {
		errs = append(errs, errors.New("SecretHash and SecretSalt go together"))
	}
	if len(c.JWKS) > 0 {
		set, err := clientKeys(c)
		if err != nil {
			errs = append(errs, err)
			set.Keys = nil
		}
		// A key's alg restricts it to that algorithm (verifyWithAny): one
		// that is no assertion algorithm of its key type verifies nothing.
		// Checked here only, so that a client stored earlier keeps its
		// other keys.
		for i, k := range set.Keys {
			if k.Algorithm != "" && !algFitsKey(jose.SignatureAlgorithm(k.Algorithm), k.Key) {
				errs = append(errs, fmt.Errorf("the client JWKS key %d has alg %q, which is not a client assertion algorithm for its key type", i, k.Algorithm))
			}
		}
	}
	switch c.IDTokenAlg {
	case "", string(jose.RS256), string(jose.ES256):
	default:
		errs = append(errs, fmt.Errorf("ID token algorithm %q is not supported (RS256 or ES256)", c.IDTokenAlg))
	}
	for _, sc := range c.Scopes {
		if !validScopeToken(sc) || (strings.HasPrefix(sc, purposePrefix) && !purposeScope.MatchString(sc)) {
			errs = append(errs, fmt.Errorf("scope %q is malformed", sc))
		}
	}
	return errors.Join(errs...)
}

// isPublic reports whether a client has no credentials at all (it then
// proves possession of its code with PKCE alone).
func isPublic(c store.Client) bool { return len(c.SecretHash) == 0 && len(c.JWKS) == 0 }

// minRSABits is the smallest RSA modulus accepted for signatures (RFC 7518
// section 3.3).
const minRSABits = 2048

// clientKeys parses a client's registered JWKS: public signing keys only,
// RSA ones of at least 2048 bits.
func clientKeys(c store.Client) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(c.JWKS, &set); err != nil {
		return set, fmt.Errorf("the client JWKS is not a JSON Web Key Set: %w", err)
	}
	if len(set.Keys) == 0 {
		return set, errors.New("the client JWKS has no keys")
	}
	for i, k := range set.Keys {
		if !k.IsPublic() {
			return set, fmt.Errorf("the client JWKS key %d holds private key material", i)
		}
		if k.Use == "enc" {
			return set, fmt.Errorf("the client JWKS key %d is an encryption key", i)
		}
		switch key := k.Key.(type) {
		case *rsa.PublicKey:
			// RFC 7518 sections 3.3 and 3.5: RS* and PS* need at least
			// 2048 bits, as the server's own keys (keys.go).
			if key.N.BitLen() < minRSABits {
				return set, fmt.Errorf("the client JWKS key %d is an RSA key of %d bits; at least %d are required", i, key.N.BitLen(), minRSABits)
			}
		case *ecdsa.PublicKey, ed25519.PublicKey:
		default:
			return set, fmt.Errorf("the client JWKS key %d is not an RSA, EC or Ed25519 public key", i)
		}
	}
	return set, nil
}

// algFitsKey reports whether alg is a client assertion algorithm (see
// assertionAlgs) that key can verify.
func algFitsKey(alg jose.SignatureAlgorithm, key any) bool {
	switch key := key.(type) {
	case *rsa.PublicKey:
		switch alg {
		case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
			return true
		}
	case *ecdsa.PublicKey:
		switch alg {
		case jose.ES256:
			return key.Curve.Params().BitSize == 256
		case jose.ES384:
			return key.Curve.Params().BitSize == 384
		case jose.ES512:
			return key.Curve.Params().BitSize == 521
		}
	case ed25519.PublicKey:
		return alg == jose.EdDSA
	}
	return false
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7E {
			return false
		}
	}
	return true
}
