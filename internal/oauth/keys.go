package oauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/numgate/numgate/internal/atomicfile"
)

// Keys are the server's ID token signing keys: one RSA key (RS256, at least
// 2048 bits) and one P-256 key (ES256). Further keys found in the key file
// are published in the JWKS but never sign (room for rotation).
type Keys struct {
	rsa     jose.JSONWebKey
	ec      jose.JSONWebKey
	public  jose.JSONWebKeySet
	private []jose.JSONWebKey // the whole set, in file order
}

// NewKeys returns Keys from an RSA and a P-256 private key. Each key's kid
// is its RFC 7638 JWK thumbprint.
func NewKeys(rsaKey *rsa.PrivateKey, ecKey *ecdsa.PrivateKey) (*Keys, error) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: rsaKey, Algorithm: string(jose.RS256), Use: "sig"},
		{Key: ecKey, Algorithm: string(jose.ES256), Use: "sig"},
	}}
	return keysFromSet(set)
}

// GenerateKeys returns fresh, unpersisted Keys (for tests and ephemeral use).
func GenerateKeys() (*Keys, error) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("oauth: generate RSA key: %w", err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("oauth: generate P-256 key: %w", err)
	}
	return NewKeys(rk, ek)
}

// LoadOrCreateKeys reads the signing keys from path, a JSON Web Key Set of
// private keys, or, when there is no such file, generates an RSA-2048 and a
// P-256 key and writes them there with 0600 permissions (creating the
// directory with 0700). The kids are stored in the file and so stay the same
// across restarts. Of two processes creating the file at once, one wins and
// both use its keys. A key file readable by group or others is refused.
func LoadOrCreateKeys(path string) (*Keys, error) {
	if k, err := loadKeys(path); !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	k, err := GenerateKeys()
	if err != nil {
		return nil, err
	}
	private := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k.rsa, k.ec}}
	data, err := json.MarshalIndent(private, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("oauth: encode keys: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("oauth: write keys: %w", err)
	}
	if err := atomicfile.CreateNew(path, append(data, '\n')); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return loadKeys(path) // another process was faster
		}
		return nil, fmt.Errorf("oauth: write keys: %w", err)
	}
	return k, nil
}

// LoadKeys reads the signing keys from an existing key file (see
// LoadOrCreateKeys); a missing file is an error wrapping fs.ErrNotExist.
func LoadKeys(path string) (*Keys, error) { return loadKeys(path) }

// RotateKeyFile gives the key file at path a fresh RSA-2048 and P-256 pair
// as its signing keys, keeps the two pairs that signed before published
// (ID tokens they signed stay verifiable, for their at most 300 s, even when
// a second rotation comes before the gateways reloaded the first), and
// drops older keys. The file is replaced atomically with 0600 permissions. A
// running server signs with the new keys once it reloads the file (Reload,
// SIGHUP, or a restart); relying parties fetch the JWKS again when they
// meet the new kid. It returns the new Keys.
func RotateKeyFile(path string) (*Keys, error) {
	old, err := loadKeys(path)
	if err != nil {
		return nil, err
	}
	fresh, err := GenerateKeys()
	if err != nil {
		return nil, err
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{fresh.rsa, fresh.ec, old.rsa, old.ec}}
	if prev, ok := old.previousPair(); ok {
		set.Keys = append(set.Keys, prev...)
	}
	k, err := keysFromSet(set)
	if err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("oauth: encode keys: %w", err)
	}
	if err := atomicfile.Replace(path, append(data, '\n')); err != nil {
		return nil, fmt.Errorf("oauth: write keys: %w", err)
	}
	return k, nil
}

// previousPair returns the private RS256 and ES256 keys that follow the
// signing pair in the key file (the pair of the rotation before), if any.
func (k *Keys) previousPair() ([]jose.JSONWebKey, bool) {
	var rs, es *jose.JSONWebKey
	for i := range k.private {
		j := &k.private[i]
		if j.KeyID == k.rsa.KeyID || j.KeyID == k.ec.KeyID {
			continue
		}
		switch j.Algorithm {
		case string(jose.RS256):
			if rs == nil {
				rs = j
			}
		case string(jose.ES256):
			if es == nil {
				es = j
			}
		}
	}
	if rs == nil || es == nil {
		return nil, false
	}
	return []jose.JSONWebKey{*rs, *es}, true
}

// SigningKIDs returns the kids of the RS256 and the ES256 signing key.
func (k *Keys) SigningKIDs() (rs256, es256 string) { return k.rsa.KeyID, k.ec.KeyID }

// PublicJWKS returns the public keys, as served at the jwks_uri.
func (k *Keys) PublicJWKS() jose.JSONWebKeySet {
	out := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, len(k.public.Keys))}
	copy(out.Keys, k.public.Keys)
	return out
}

// signer returns a JWS signer for alg (RS256 or ES256) whose header names
// the key's kid and typ JWT.
func (k *Keys) signer(alg jose.SignatureAlgorithm) (jose.Signer, error) {
	var key jose.JSONWebKey
	switch alg {
	case jose.RS256:
		key = k.rsa
	case jose.ES256:
		key = k.ec
	default:
		return nil, fmt.Errorf("oauth: no signing key for %s", alg)
	}
	return jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
}

func loadKeys(path string) (*Keys, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("oauth: key file %s is accessible by group or others (mode %04o); restrict it to 0600", path, info.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("oauth: key file %s: %w", path, err)
	}
	k, err := keysFromSet(set)
	if err != nil {
		return nil, fmt.Errorf("oauth: key file %s: %w", path, err)
	}
	return k, nil
}

// keysFromSet picks the first RS256 RSA and the first ES256 P-256 private
// key of set as the signing keys; every key of set is published. Kids must
// be distinct and every key's use sig (or unset).
func keysFromSet(set jose.JSONWebKeySet) (*Keys, error) {
	k := &Keys{}
	kids := make(map[string]int, len(set.Keys))
	for i, jwk := range set.Keys {
		if jwk.IsPublic() {
			return nil, fmt.Errorf("key %d is not a private key", i)
		}
		if jwk.KeyID == "" {
			tp, err := jwk.Thumbprint(crypto.SHA256)
			if err != nil {
				return nil, fmt.Errorf("key %d: %w", i, err)
			}
			jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
		}
		// Relying parties pick the verification key by kid, and libraries
		// such as zitadel/oidc skip a key whose use is not sig: a shared
		// kid or an encryption key would make valid ID tokens fail.
		if j, dup := kids[jwk.KeyID]; dup {
			return nil, fmt.Errorf("keys %d and %d have the same kid %q; kids must be distinct", j, i, jwk.KeyID)
		}
		kids[jwk.KeyID] = i
		switch jwk.Use {
		case "":
			jwk.Use = "sig"
		case "sig":
		default:
			return nil, fmt.Errorf("key %d has use %q; the key file holds signing keys (use sig)", i, jwk.Use)
		}
		switch key := jwk.Key.(type) {
		case *rsa.PrivateKey:
			if key.N.BitLen() < minRSABits {
				return nil, fmt.Errorf("key %d: RSA keys must have at least %d bits", i, minRSABits)
			}
			if jwk.Algorithm == "" {
				jwk.Algorithm = string(jose.RS256)
			}
			if k.rsa.Key == nil && jwk.Algorithm == string(jose.RS256) {
				k.rsa = jwk
			}
		case *ecdsa.PrivateKey:
			if key.Curve != elliptic.P256() {
				return nil, fmt.Errorf("key %d: EC keys must be on P-256", i)
			}
			if jwk.Algorithm == "" {
				jwk.Algorithm = string(jose.ES256)
			}
			if k.ec.Key == nil && jwk.Algorithm == string(jose.ES256) {
				k.ec = jwk
			}
		default:
			return nil, fmt.Errorf("key %d: unsupported key type %T", i, jwk.Key)
		}
		k.public.Keys = append(k.public.Keys, jwk.Public())
		k.private = append(k.private, jwk)
	}
	if k.rsa.Key == nil || k.ec.Key == nil {
		return nil, errors.New("need an RS256 RSA key and an ES256 P-256 key")
	}
	return k, nil
}
