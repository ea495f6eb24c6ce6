package kpn

import (
	"strings"
	"testing"

	"github.com/numgate/numgate/internal/randid"
)

// TestSeal: a sealed number opens only with its polling id and attempt,
// and the sealed form does not show the number.
func TestSeal(t *testing.T) {
	id, other := randid.Secret(), randid.Secret()
	sealed, err := seal(id, "att-1", "+31630000001")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "31630000001") {
		t.Fatal("the sealed form shows the number")
	}
	if n, err := open(id, "att-1", sealed); err != nil || n != "+31630000001" {
		t.Fatalf("open: %q, %v", n, err)
	}
	for name, try := range map[string]func() (string, error){
		"another id":      func() (string, error) { return open(other, "att-1", sealed) },
		"another attempt": func() (string, error) { return open(id, "att-2", sealed) },
		"truncated":       func() (string, error) { return open(id, "att-1", sealed[:10]) },
		"not base64":      func() (string, error) { return open(id, "att-1", "***") },
	} {
		if _, err := try(); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
	again, _ := seal(id, "att-1", "+31630000001")
	if again == sealed {
		t.Error("two seals of one number are equal")
	}
}
