package dqe_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/dialect/dqe"
)

// initiateCase is a refused step 1: the request, and the error it gets.
type initiateCase struct {
	name  string
	want  dqe.ErrorID
	tweak func(*dqe.Config)
	// edit changes valid parameters; send, when set, replaces the request.
	edit func(p url.Values)
	send func(h *harness) reply
}

// number is the claimed number of the initiate cases (virtual operator: verified).
const number = "+33612345671"

var initiateCases = []initiateCase{
	// 01 invalid request
	{name: "method PUT", want: dqe.ErrInvalidRequest, send: func(h *harness) reply {
		req, _ := http.NewRequest(http.MethodPut, h.URL+"/IDMOBILE/?"+initiateParams(number).Encode(), nil)
		return h.do(req)
	}},
	{name: "POST body is JSON", want: dqe.ErrInvalidRequest, send: func(h *harness) reply {
		req, _ := http.NewRequest(http.MethodPost, h.URL+"/IDMOBILE/", strings.NewReader(`{"number":"`+number+`"}`))
		req.Header.Set("Content-Type", "application/json")
		return h.do(req)
	}},
	{name: "unknown path", want: dqe.ErrInvalidRequest, send: func(h *harness) reply {
		return h.get("/IDMOBILE/other", initiateParams(number))
	}},
	{name: "number twice", want: dqe.ErrInvalidRequest, edit: func(p url.Values) { p.Add("number", "+33612345673") }},
	{name: "licence and Licence both", want: dqe.ErrInvalidRequest, edit: func(p url.Values) { p.Set("Licence", otherLic) }},
	{name: "name missing", want: dqe.ErrInvalidRequest, edit: func(p url.Values) { p.Del("name") }},
	{name: "token missing", want: dqe.ErrInvalidRequest, edit: func(p url.Values) { p.Del("token") }},
	{name: "name too long", want: dqe.ErrInvalidRequest, edit: func(p url.Values) { p.Set("name", strings.Repeat("A", 3000)) }},
	{name: "redirect_uri not registered", want: dqe.ErrInvalidRequest, edit: func(p url.Values) { p.Set("redirect_uri", "https://evil.example/steal") }},
	{name: "redirect_uri relative", want: dqe.ErrInvalidRequest, edit: func(p url.Values) { p.Set("redirect_uri", "/dqe/return") }},
	// 02 invalid licence key
	{name: "licence missing", want: dqe.ErrInvalidLicence, edit: func(p url.Values) { p.Del("licence") }},
	{name: "licence unknown", want: dqe.ErrInvalidLicence, edit: func(p url.Values) { p.Set("licence", "LIC-NONE") }},
	{name: "licence without secret", want: dqe.ErrInvalidLicence, edit: func(p url.Values) { p.Set("licence", keyOnlyLic) }},
	// 04 invalid scope
	{name: "scope missing", want: dqe.ErrInvalidScope, edit: func(p url.Values) { p.Del("scope") }},
	{name: "scope wrong", want: dqe.ErrInvalidScope, edit: func(p url.Values) { p.Set("scope", "numverify") }},
	{name: "licence not registered for numVerify", want: dqe.ErrInvalidScope, edit: func(p url.Values) {
		p.Set("licence", kycLic)
		p.Set("token", "kyc-token")
	}},
	// 05, 06, 07 user_infos
	{name: "user_infos empty", want: dqe.ErrUserInfosEmpty, edit: func(p url.Values) { p.Set("user_infos", "") }},
	{name: "user_infos not JSON", want: dqe.ErrUserInfosNotJSON, edit: func(p url.Values) { p.Set("user_infos", `{phone:`) }},
	{name: "user_infos a JSON array", want: dqe.ErrUserInfosNotJSON, edit: func(p url.Values) { p.Set("user_infos", `["`+number+`"]`) }},
	{name: "user_infos without phone", want: dqe.ErrUserInfosNoPhone, edit: func(p url.Values) { p.Set("user_infos", `{"email":"user@example.com"}`) }},
	// 09 ineligible
	{name: "landline", want: dqe.ErrIneligibleNumber, edit: func(p url.Values) { p.Set("number", "+33142685300") }},
	{name: "toll-free", want: dqe.ErrIneligibleNumber, edit: func(p url.Values) { p.Set("number", "0800123456") }},
	// 10 invalid phone number
	{name: "number too short", want: dqe.ErrInvalidNumber, edit: func(p url.Values) { p.Set("number", "+3361234") }},
	{name: "national number too short", want: dqe.ErrInvalidNumber, edit: func(p url.Values) { p.Set("number", "06123") }},
	{name: "number not digits", want: dqe.ErrInvalidNumber, edit: func(p url.Values) { p.Set("number", "call-me-maybe") }},
	// 11 phone number is empty
	{name: "number missing", want: dqe.ErrEmptyNumber, edit: func(p url.Values) { p.Del("number") }},
	{name: "number blank", want: dqe.ErrEmptyNumber, edit: func(p url.Values) { p.Set("number", "  ") }},
	// 12 phone check failed
	{name: "user_infos phone is another number", want: dqe.ErrPhoneCheckFailed, edit: func(p url.Values) { p.Set("user_infos", `{"phone":"+33612345673"}`) }},
	{name: "user_infos phone not a number", want: dqe.ErrPhoneCheckFailed, edit: func(p url.Values) { p.Set("user_infos", `{"phone":12}`) }},
	// 13 to 17 operators
	{name: "operator not found", want: dqe.ErrOperatorNotFound, tweak: func(c *dqe.Config) {
		c.Operator = func(string) string { return "" }
	}},
	{name: "operator not authorized for this licence", want: dqe.ErrOperatorNotAuthorized, tweak: func(c *dqe.Config) {
		c.Operators = map[string]dqe.OperatorPolicy{dqe.DefaultOperatorName: {Licences: []string{otherLic}}}
	}},
	{name: "operator not supported", want: dqe.ErrOperatorNotSupported, tweak: func(c *dqe.Config) {
		c.Operators = map[string]dqe.OperatorPolicy{"Orange": {}}
	}},
	{name: "operator unreachable", want: dqe.ErrOperatorUnreachable, tweak: func(c *dqe.Config) {
		c.Operators = map[string]dqe.OperatorPolicy{dqe.DefaultOperatorName: {Unreachable: true}}
	}},
	{name: "scope not supported by operator", want: dqe.ErrScopeNotSupported, tweak: func(c *dqe.Config) {
		c.Operators = map[string]dqe.OperatorPolicy{dqe.DefaultOperatorName: {Scopes: []string{"kyc"}}}
	}},
	// 30 invalid or expired token
	{name: "token is not the licence's secret", want: dqe.ErrInvalidToken, edit: func(p url.Values) { p.Set("token", otherSecret) }},
	// 99 internal server error
	{name: "store down", want: dqe.ErrInternal, send: func(h *harness) reply {
		h.Store.Close()
		return h.get("/IDMOBILE/", initiateParams(number))
	}},
}

// TestInitiateErrors reaches every step 1 error id by its documented
// condition, and shows that a refused request starts no attempt.
func TestInitiateErrors(t *testing.T) {
	var bodies bytes.Buffer
	for _, c := range initiateCases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.tweak)
			var r reply
			switch {
			case c.send != nil:
				r = c.send(h)
			default:
				p := initiateParams(number)
				if c.edit != nil {
					c.edit(p)
				}
				r = h.get("/IDMOBILE/", p)
				// The same parameters by form POST get the same answer.
				if p2 := h.post("/IDMOBILE/", p); !bytes.Equal(p2.Body, r.Body) {
					t.Errorf("POST answers %s, GET %s", p2.Body, r.Body)
				}
			}
			checkError(t, r, c.want)
			fmt.Fprintf(&bodies, "%s: HTTP %d %s", c.name, r.Status, r.Body)
			if c.want != dqe.ErrInternal && h.openAttempts() != 0 {
				t.Error("a refused initiation started an attempt")
			}
			noNumberIn(t, "the log", h.Logs.String(), number, "+33612345673", "+33142685300")
		})
	}
	if !t.Failed() {
		golden(t, "initiate_errors.golden", bodies.Bytes())
	}
}

// checkError checks a DQE error body and its HTTP status.
func checkError(t *testing.T, r reply, want dqe.ErrorID) {
	t.Helper()
	m := r.JSON(t)
	if m["status"] != "error" || m["error_id"] != string(want) || m["error_type"] == "" || len(m) != 3 {
		t.Fatalf("got HTTP %d %s, want error %s", r.Status, r.Body, want)
	}
	wantStatus := http.StatusOK
	if want == dqe.ErrInternal {
		wantStatus = http.StatusInternalServerError
	}
	if r.Status != wantStatus {
		t.Errorf("HTTP %d, want %d", r.Status, wantStatus)
	}
}

// retrieveCase is a refused step 2 on a live session.
type retrieveCase struct {
	name string
	want dqe.ErrorID
	send func(h *harness, token string) reply
}

var retrieveCases = []retrieveCase{
	{"method PUT", dqe.ErrInvalidRequest, func(h *harness, tok string) reply {
		req, _ := http.NewRequest(http.MethodPut, h.URL+"/GET/?"+retrieveParams(tok).Encode(), nil)
		return h.do(req)
	}},
	{"token missing", dqe.ErrInvalidRequest, func(h *harness, tok string) reply {
		p := retrieveParams(tok)
		p.Del("token")
		return h.get("/GET/", p)
	}},
	{"token twice", dqe.ErrInvalidRequest, func(h *harness, tok string) reply {
		p := retrieveParams(tok)
		p.Add("token", tok)
		return h.get("/GET/", p)
	}},
	{"POST body not a form", dqe.ErrInvalidRequest, func(h *harness, tok string) reply {
		req, _ := http.NewRequest(http.MethodPost, h.URL+"/GET/", strings.NewReader(retrieveParams(tok).Encode()))
		req.Header.Set("Content-Type", "text/plain")
		return h.do(req)
	}},
	{"Licence missing", dqe.ErrInvalidLicence, func(h *harness, tok string) reply {
		p := retrieveParams(tok)
		p.Del("Licence")
		return h.get("/GET/", p)
	}},
	{"Licence unknown", dqe.ErrInvalidLicence, func(h *harness, tok string) reply {
		p := retrieveParams(tok)
		p.Set("Licence", "LIC-NONE")
		return h.post("/GET/", p)
	}},
	{"scope missing", dqe.ErrInvalidScope, func(h *harness, tok string) reply {
		p := retrieveParams(tok)
		p.Del("scope")
		return h.get("/GET/", p)
	}},
	{"scope wrong", dqe.ErrInvalidScope, func(h *harness, tok string) reply {
		p := retrieveParams(tok)
		p.Set("scope", "kyc")
		return h.get("/GET/", p)
	}},
	{"token unknown", dqe.ErrInvalidToken, func(h *harness, tok string) reply {
		return h.get("/GET/", retrieveParams(strings.Repeat("A", 43)))
	}},
	{"token malformed", dqe.ErrInvalidToken, func(h *harness, tok string) reply {
		return h.get("/GET/", retrieveParams(tok+"!"))
	}},
	{"token is the partner secret", dqe.ErrInvalidToken, func(h *harness, tok string) reply {
		return h.get("/GET/", retrieveParams(secret))
	}},
	{"token of another licence", dqe.ErrInvalidToken, func(h *harness, tok string) reply {
		p := retrieveParams(tok)
		p.Set("Licence", otherLic)
		return h.get("/GET/", p)
	}},
	{"device url with an unknown token", dqe.ErrInvalidToken, func(h *harness, tok string) reply {
		return h.open(h.URL + "/IDMOBILE/device/" + strings.Repeat("B", 43))
	}},
}

// TestRetrieveRefusals reaches the step 2 request errors on a live
// session, and shows each changes nothing: the session still answers
// pending, then success once the device came.
func TestRetrieveRefusals(t *testing.T) {
	h := newHarness(t, nil)
	var bodies bytes.Buffer
	for _, c := range retrieveCases {
		t.Run(c.name, func(t *testing.T) {
			dev := h.initiate(number)
			tok := sessionToken(dev)
			r := c.send(h, tok)
			checkError(t, r, c.want)
			fmt.Fprintf(&bodies, "%s: HTTP %d %s", c.name, r.Status, r.Body)
			if m := h.get("/GET/", retrieveParams(tok)).JSON(t); m["status"] != "pending" {
				t.Fatalf("after the refusal the session answers %v, want pending", m)
			}
			h.open(dev)
			if m := h.get("/GET/", retrieveParams(tok)).JSON(t); m["status"] != "success" || m["numVerify"] != true {
				t.Fatalf("after the refusal the result is %v, want success/true", m)
			}
		})
	}
	if !t.Failed() {
		golden(t, "retrieve_errors.golden", bodies.Bytes())
	}
	noNumberIn(t, "the log", h.Logs.String(), number)
}

// TestRetrieveSpentAndExpired covers error 30 for a session whose result
// was taken, and for one whose device never came.
func TestRetrieveSpentAndExpired(t *testing.T) {
	h := newHarness(t, nil)

	dev := h.initiate(number)
	tok := sessionToken(dev)
	h.open(dev)
	if m := h.get("/GET/", retrieveParams(tok)).JSON(t); m["status"] != "success" {
		t.Fatalf("first retrieval: %v", m)
	}
	checkError(t, h.get("/GET/", retrieveParams(tok)), dqe.ErrInvalidToken)
	checkError(t, h.open(dev), dqe.ErrInvalidToken) // the spent token opens nothing either

	late := h.initiate(number)
	h.clock.Add(2*time.Minute + time.Second) // past the attempt's deadline
	r := h.open(late)
	if loc := r.Header.Get("Location"); r.Status != http.StatusFound || !strings.Contains(loc, "status=error") {
		t.Fatalf("late device: HTTP %d, Location %q; want a redirect with status=error", r.Status, loc)
	}
	checkError(t, h.get("/GET/", retrieveParams(sessionToken(late))), dqe.ErrInvalidToken)

	never := h.initiate(number)
	h.clock.Add(2*time.Minute + time.Second)
	checkError(t, h.get("/GET/", retrieveParams(sessionToken(never))), dqe.ErrInvalidToken)
}

// TestRetrieveStoreDown is error 99: numgate cannot read its store.
func TestRetrieveStoreDown(t *testing.T) {
	h := newHarness(t, nil)
	tok := sessionToken(h.initiate(number))
	h.Store.Close()
	r := h.post("/GET/", retrieveParams(tok))
	checkError(t, r, dqe.ErrInternal)
	if strings.Contains(string(r.Body), "sql") {
		t.Errorf("the cause leaks into the body: %s", r.Body)
	}
}
