package ueid

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Operation names a custom operation of the API.
type Operation string

// The operations, as their URIs name them.
const (
	OpGetMSISDN    Operation = "get-msisdn"
	OpVerifyMSISDN Operation = "verify-msisdn"
)

// operations lists every Operation, in the order the file's default grants them.
var operations = []Operation{OpGetMSISDN, OpVerifyMSISDN}

// AnyAF as a credential's AF id lets it send any afId.
const AnyAF = "*"

// minTokenLen is the shortest literal token the credentials file accepts.
const minTokenLen = 20

// Credential is one caller allowed to use the API: the SHA-256 of its bearer
// token, the afId it must send, and the operations it may call.
type Credential struct {
	// Hash is the SHA-256 digest of the bearer token.
	Hash [sha256.Size]byte
	// AF is the afId the caller must send, or AnyAF.
	AF string
	// Operations are the operations the caller may call.
	Operations []Operation
}

// Allows reports whether the credential may call op.
func (c Credential) Allows(op Operation) bool { return slices.Contains(c.Operations, op) }

// TokenHash returns the digest a Credential keeps of token, as the
// credentials file writes it ("sha256:" and the hex digest).
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// LoadCredentials reads a credentials file (see ParseCredentials).
func LoadCredentials(path string) ([]Credential, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ueid credentials: %w", err)
	}
	defer f.Close()
	cs, err := ParseCredentials(f)
	if err != nil {
		return nil, fmt.Errorf("ueid credentials %s: %w", path, err)
	}
	return cs, nil
}

// ParseCredentials reads credentials, one a line:
//
//	TOKEN AF-ID [OPERATION ...]
//
// TOKEN is "sha256:" followed by the 64 hex digits of the token's SHA-256
// (printf %s "$TOKEN" | sha256sum), or the token itself (at least 20
// characters; only its digest is kept). AF-ID is the afId requests must
// carry, or "*" for any. OPERATIONs are get-msisdn and verify-msisdn;
// none means both. Blank lines and lines starting with '#' are ignored.
// Errors name the line, never the token. At least one credential is
// required: an empty file would make an API nobody can call.
func ParseCredentials(r io.Reader) ([]Credential, error) {
	var out []Credential
	var errs []error
	seen := map[[sha256.Size]byte]int{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			errs = append(errs, fmt.Errorf("line %d: want TOKEN AF-ID [OPERATION ...]", n))
			continue
		}
		var c Credential
		if hexSum, ok := strings.CutPrefix(f[0], "sha256:"); ok {
			b, err := hex.DecodeString(hexSum)
			if err != nil || len(b) != sha256.Size {
				errs = append(errs, fmt.Errorf("line %d: sha256: must be followed by 64 hex digits", n))
				continue
			}
			copy(c.Hash[:], b)
		} else {
			if len(f[0]) < minTokenLen {
				errs = append(errs, fmt.Errorf("line %d: token shorter than %d characters", n, minTokenLen))
				continue
			}
			c.Hash = sha256.Sum256([]byte(f[0]))
		}
		c.AF = f[1]
		for _, op := range f[2:] {
			o := Operation(op)
			if !slices.Contains(operations, o) {
				errs = append(errs, fmt.Errorf("line %d: unknown operation %q (known: get-msisdn, verify-msisdn)", n, op))
				continue
			}
			if !slices.Contains(c.Operations, o) {
				c.Operations = append(c.Operations, o)
			}
		}
		if len(f) == 2 {
			c.Operations = slices.Clone(operations)
		}
		if prev, dup := seen[c.Hash]; dup {
			errs = append(errs, fmt.Errorf("line %d: same token as line %d", n, prev))
			continue
		}
		seen[c.Hash] = n
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(errs) == 0 && len(out) == 0 {
		errs = append(errs, errors.New("no credentials"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// authenticate returns the credential whose token is token. It hashes the
// token and compares the digest with every credential in constant time, so
// neither which credential matched nor how much of it did shows in timing.
func authenticate(creds []Credential, token string) (Credential, bool) {
	sum := sha256.Sum256([]byte(token))
	found := -1
	for i := range creds {
		if subtle.ConstantTimeCompare(sum[:], creds[i].Hash[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Credential{}, false
	}
	return creds[found], true
}
