package dialectkit_test

import (
	"strings"
	"testing"

	"github.com/numgate/numgate/internal/dialect/dialectkit"
)

func TestCheckBaseURL(t *testing.T) {
	for _, good := range []string{"https://numgate.example", "http://127.0.0.1:8080", "https://numgate.example/nv"} {
		if err := dialectkit.CheckBaseURL(good); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
	for _, bad := range []string{
		"", "numgate.example", "ftp://numgate.example", "https://", "https://numgate.example/",
		"https://user:pw@numgate.example", "https://numgate.example?a=b", "https://numgate.example#top", "https://%zz",
		"https://numgate.example?", "https://numgate.example/nv#",
	} {
		err := dialectkit.CheckBaseURL(bad)
		if err == nil || !strings.Contains(err.Error(), "BaseURL") {
			t.Errorf("%q: error %v, want one naming BaseURL", bad, err)
		}
	}
}
