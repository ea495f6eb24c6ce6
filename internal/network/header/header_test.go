package header_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/network/header"
)

func TestIdentify(t *testing.T) {
	const want = "+31612345678"
	tests := []struct {
		name    string
		trusted bool
		header  http.Header
		want    string // "" = not identifiable
	}{
		{"e164", true, http.Header{"X-Msisdn": {"+31612345678"}}, want},
		{"digits without plus", true, http.Header{"X-Msisdn": {"31612345678"}}, want},
		{"tel uri", true, http.Header{"X-Msisdn": {"tel:+31612345678"}}, want},
		{"TEL uri", true, http.Header{"X-Msisdn": {"TEL:+31612345678"}}, want},
		{"surrounding space", true, http.Header{"X-Msisdn": {"  +31612345678 "}}, want},
		{"shortest", true, http.Header{"X-Msisdn": {"+31612"}}, "+31612"},
		{"longest", true, http.Header{"X-Msisdn": {"316123456789012"}}, "+316123456789012"},

		{"untrusted peer", false, http.Header{"X-Msisdn": {"+31612345678"}}, ""},
		{"untrusted peer, tel", false, http.Header{"X-Msisdn": {"tel:+31612345678"}}, ""},
		{"no header", true, http.Header{}, ""},
		{"nil header", true, nil, ""},
		{"empty value", true, http.Header{"X-Msisdn": {""}}, ""},
		{"other header", true, http.Header{"X-Up-Calling-Line-Id": {"+31612345678"}}, ""},
		{"two lines", true, http.Header{"X-Msisdn": {"+31600000000", "+31612345678"}}, ""},
		{"same number twice", true, http.Header{"X-Msisdn": {"+31612345678", "+31612345678"}}, ""},
		{"comma list", true, http.Header{"X-Msisdn": {"+31600000000, +31612345678"}}, ""},
		{"local tel uri", true, http.Header{"X-Msisdn": {"tel:0612345678"}}, ""},
		{"national number", true, http.Header{"X-Msisdn": {"0612345678"}}, ""},
		{"double plus", true, http.Header{"X-Msisdn": {"++31612345678"}}, ""},
		{"separators", true, http.Header{"X-Msisdn": {"+31 6 12345678"}}, ""},
		{"too long", true, http.Header{"X-Msisdn": {"+3161234567890123"}}, ""},
		{"too short", true, http.Header{"X-Msisdn": {"+3161"}}, ""},
		{"tel only", true, http.Header{"X-Msisdn": {"tel:"}}, ""},
		{"sip uri", true, http.Header{"X-Msisdn": {"sip:+31612345678@ims"}}, ""},
		{"hashed", true, http.Header{"X-Msisdn": {strings.Repeat("a", 64)}}, ""},
		{"unknown", true, http.Header{"X-Msisdn": {"unknown"}}, ""},
	}
	var logs bytes.Buffer
	e, err := header.New(header.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := e.Identify(t.Context(), network.Connection{
				FromTrustedProxy: tt.trusted, Header: tt.header, Hint: "+99999999999",
			})
			if tt.want == "" {
				if !errors.Is(err, network.ErrNotIdentifiable) {
					t.Fatalf("got %+v, %v; want ErrNotIdentifiable", id, err)
				}
				if strings.Contains(err.Error(), "612345678") {
					t.Errorf("error %q contains the number", err)
				}
				return
			}
			if err != nil || id != (network.Identity{Number: tt.want, Source: header.Source}) {
				t.Fatalf("got %+v, %v; want %s", id, err, tt.want)
			}
		})
	}
	if strings.Contains(logs.String(), "612345678") {
		t.Errorf("a number reached the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "several values") {
		t.Errorf("repeated header not logged:\n%s", logs.String())
	}
}

func TestHeaderName(t *testing.T) {
	for _, tc := range []struct {
		opt, want string
	}{
		{"", "X-Msisdn"},
		{"x-msisdn", "X-Msisdn"},
		{"X-Nokia-Msisdn", "X-Nokia-Msisdn"},
		{"x-up-calling-line-id", "X-Up-Calling-Line-Id"},
	} {
		e, err := header.New(header.Options{Header: tc.opt})
		if err != nil {
			t.Fatalf("New(%q): %v", tc.opt, err)
		}
		if e.Header() != tc.want {
			t.Errorf("New(%q).Header() = %q, want %q", tc.opt, e.Header(), tc.want)
		}
		h := http.Header{}
		h.Set(tc.want, "+31612345678")
		if id, err := e.Identify(t.Context(), network.Connection{FromTrustedProxy: true, Header: h}); err != nil || id.Number != "+31612345678" {
			t.Errorf("header %q: %+v, %v", tc.want, id, err)
		}
	}
	for _, bad := range []string{"X MSISDN", "X-MSISDN:", "X-Ümsisdn", "a\nb"} {
		if _, err := header.New(header.Options{Header: bad}); err == nil {
			t.Errorf("New(%q): no error", bad)
		}
	}

	// A configured header replaces the default: X-MSISDN is then ignored.
	e, _ := header.New(header.Options{Header: "X-Nokia-Msisdn"})
	h := http.Header{"X-Msisdn": {"+31612345678"}}
	if _, err := e.Identify(t.Context(), network.Connection{FromTrustedProxy: true, Header: h}); !errors.Is(err, network.ErrNotIdentifiable) {
		t.Errorf("default header read although another is configured: %v", err)
	}
}
