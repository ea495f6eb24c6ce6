package msisdn

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"testing"
)

// TestPseudonym checks Pseudonym against HMAC-SHA-256 computed from
// scratch, also when its pooled HMACs are reused by concurrent callers.
func TestPseudonym(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	p, err := NewPseudonymizer(key)
	if err != nil {
		t.Fatal(err)
	}
	want := func(number string, scope ...string) string {
		m := hmac.New(sha256.New, key)
		for _, s := range scope {
			m.Write([]byte(s))
			m.Write([]byte{0})
		}
		m.Write([]byte(number))
		return hex.EncodeToString(m.Sum(nil))
	}
	cases := [][]string{{"+31612345678"}, {"+31612345678", "sub", "client-1"}, {"+4915112345678", "sub"}}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				for _, c := range cases {
					if got, w := p.Pseudonym(c[0], c[1:]...), want(c[0], c[1:]...); got != w {
						t.Errorf("Pseudonym(%q): %s, want %s", c, got, w)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if _, err := NewPseudonymizer(key[:31]); err == nil {
		t.Error("a 31-byte key was accepted")
	}
}
