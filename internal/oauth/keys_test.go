package oauth_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/numgate/numgate/internal/oauth"
)

func kids(k *oauth.Keys) []string {
	var out []string
	for _, j := range k.PublicJWKS().Keys {
		out = append(out, j.KeyID+"/"+j.Algorithm)
	}
	slices.Sort(out)
	return out
}

func TestLoadOrCreateKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "keys.json")
	k1, err := oauth.LoadOrCreateKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %04o, want 0600", perm)
	}
	k2, err := oauth.LoadOrCreateKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := kids(k2), kids(k1); !slices.Equal(got, want) || len(got) != 2 {
		t.Errorf("kids after restart %v, want %v", got, want)
	}
	for _, j := range k1.PublicJWKS().Keys {
		if !j.IsPublic() || j.Use != "sig" || j.KeyID == "" {
			t.Errorf("published key %s: public %v use %q", j.KeyID, j.IsPublic(), j.Use)
		}
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := oauth.LoadOrCreateKeys(path); err == nil || !strings.Contains(err.Error(), "0600") {
		t.Errorf("a world-readable key file was accepted: %v", err)
	}
}

func TestLoadOrCreateKeysConcurrently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	const n = 4
	var wg sync.WaitGroup
	got := make([][]string, n)
	for i := range n {
		wg.Go(func() {
			k, err := oauth.LoadOrCreateKeys(path)
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = kids(k)
		})
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if !slices.Equal(got[i], got[0]) {
			t.Errorf("process %d uses keys %v, process 0 %v", i, got[i], got[0])
		}
	}
}

func TestLoadKeysRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"not-json":    "{",
		"empty-set":   `{"keys":[]}`,
		"public-only": `{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`,
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := oauth.LoadOrCreateKeys(path); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestLoadKeysRejectsUnusableSets: a key file whose keys share a kid, or
// whose signing key is marked use enc, would publish a JWKS in which relying
// parties do not find the key of a valid ID token (zitadel/oidc skips keys
// whose use is not sig, and picks the first key of a kid).
func TestLoadKeysRejectsUnusableSets(t *testing.T) {
	testKeys(t)
	dir := t.TempDir()
	for name, keys := range map[string][]jose.JSONWebKey{
		"enc": {
			{Key: rsaClientKey, KeyID: "r", Use: "enc"},
			{Key: ecClientKey, KeyID: "e"},
		},
		"shared-kid": {
			{Key: rsaClientKey, KeyID: "k1", Algorithm: "RS256"},
			{Key: otherRSAKey, KeyID: "k1", Algorithm: "RS256"},
			{Key: ecClientKey, KeyID: "e"},
		},
	} {
		data, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := oauth.LoadOrCreateKeys(path); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}

	// Rotation stays possible: distinct kids, the first RS256 key signs.
	data, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: otherRSAKey, KeyID: "new", Use: "sig"},
		{Key: rsaClientKey, KeyID: "old"},
		{Key: ecClientKey},
	}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "rotation")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := oauth.LoadOrCreateKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(k.PublicJWKS().Keys); got != 3 {
		t.Errorf("%d keys published, want 3", got)
	}
}

// TestRotateKeyFile: a rotation signs with a fresh pair, keeps the two
// pairs that signed before published (a second rotation may come before
// the gateways reloaded the first), and drops older ones; the file stays
// 0600 and loads again. A broken file is left as it is.
func TestRotateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	first, err := oauth.LoadOrCreateKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	rs1, es1 := first.SigningKIDs()
	second, err := oauth.RotateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rs2, es2 := second.SigningKIDs()
	if rs2 == rs1 || es2 == es1 {
		t.Fatalf("rotation kept the signing kids %s %s", rs2, es2)
	}
	published := func(k *oauth.Keys) []string {
		var out []string
		for _, j := range k.PublicJWKS().Keys {
			out = append(out, j.KeyID)
		}
		return out
	}
	if got := published(second); !slices.Equal(got, []string{rs2, es2, rs1, es1}) {
		t.Errorf("after one rotation, published %v; want the new pair then the old", got)
	}
	third, err := oauth.RotateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rs3, es3 := third.SigningKIDs()
	if got := published(third); !slices.Equal(got, []string{rs3, es3, rs2, es2, rs1, es1}) {
		t.Errorf("after two rotations, published %v; want the newest pair and the two before", got)
	}
	fourth, err := oauth.RotateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rs4, es4 := fourth.SigningKIDs()
	if got := published(fourth); !slices.Equal(got, []string{rs4, es4, rs3, es3, rs2, es2}) {
		t.Errorf("after three rotations, published %v; want the first pair dropped", got)
	}
	loaded, err := oauth.LoadKeys(path)
	if err != nil || !slices.Equal(published(loaded), published(fourth)) {
		t.Errorf("the rotated file loads as %v (%v), want %v", published(loaded), err, published(fourth))
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode after rotation: %v (%v), want 0600", fi.Mode().Perm(), err)
	}

	broken := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(broken, []byte(`{"keys": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := oauth.RotateKeyFile(broken); err == nil {
		t.Error("rotating a broken key file: no error")
	}
	if b, _ := os.ReadFile(broken); string(b) != `{"keys": 1}` {
		t.Errorf("a failed rotation changed the file: %s", b)
	}
}
