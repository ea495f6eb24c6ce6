package ueid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"strings"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/randid"
)

// BasePath is the API root's path: apiName and apiVersion of TS 29.522.
const BasePath = "/3gpp-ueid/v1"

// maxBody bounds a request body; a UeIdReq is a few hundred bytes.
const maxBody = 16 << 10

// maxAFLen bounds an afId.
const maxAFLen = 128

// Application errors (ProblemDetails.cause), from TS 29.500's common
// application errors and TS 29.122.
const (
	CauseInvalidMsgFormat     = "INVALID_MSG_FORMAT"
	CauseMandatoryIEMissing   = "MANDATORY_IE_MISSING"
	CauseMandatoryIEIncorrect = "MANDATORY_IE_INCORRECT"
	CauseOptionalIEIncorrect  = "OPTIONAL_IE_INCORRECT"
	CauseRequestNotAuthorized = "REQUEST_NOT_AUTHORIZED"
	CauseContextNotFound      = "CONTEXT_NOT_FOUND"
	CauseUnspecifiedNFFailure = "UNSPECIFIED_NF_FAILURE"
)

// DomainLookup looks an address up in one routing domain (the DNN / APN):
// the RADIUS binding table (*radius.Table) is one. The error wraps
// network.ErrNotIdentifiable when no subscriber owns the address then.
type DomainLookup interface {
	Lookup(domain string, addr netip.Addr, port uint16, at time.Time) (string, error)
}

// Config configures the API.
type Config struct {
	// Credentials are the callers allowed in (LoadCredentials). Required.
	Credentials []Credential
	// Identifier answers requests without a dnn: the gateway's
	// identification chain. It is asked with the address, port and time
	// only; no headers, no claimed number, not from a trusted proxy.
	Identifier network.Identifier
	// Domains answers requests with a dnn (or ipDomain). Nil: such
	// requests are not found.
	Domains DomainLookup
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives one line per request (operation, afId, result) and
	// internal errors; never a phone number. Default: discard.
	Logger *slog.Logger
	// Registerer receives numgate_ueid_requests_total; nil registers none.
	Registerer prometheus.Registerer
}

// API serves the UE ID lookup operations.
type API struct {
	creds    []Credential
	ident    network.Identifier
	domains  DomainLookup
	now      func() time.Time
	log      *slog.Logger
	requests *prometheus.CounterVec
}

// New returns an API, or an error when it could not serve anything.
func New(cfg Config) (*API, error) {
	if len(cfg.Credentials) == 0 {
		return nil, errors.New("ueid: no credentials")
	}
	if cfg.Identifier == nil && cfg.Domains == nil {
		return nil, errors.New("ueid: neither an identifier nor a domain lookup")
	}
	a := &API{creds: cfg.Credentials, ident: cfg.Identifier, domains: cfg.Domains, now: cfg.Now, log: cfg.Logger}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "numgate_ueid_requests_total",
		Help: "Requests to the 3gpp-ueid lookup API by operation and result.",
	}, []string{"operation", "result"})
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(a.requests); err != nil {
			return nil, fmt.Errorf("ueid: metrics: %w", err)
		}
	}
	return a, nil
}

// Mount adds the operations to mux under BasePath.
func (a *API) Mount(mux *http.ServeMux) {
	mux.Handle("POST "+BasePath+"/"+string(OpGetMSISDN), a.endpoint(OpGetMSISDN))
	mux.Handle("POST "+BasePath+"/"+string(OpVerifyMSISDN), a.endpoint(OpVerifyMSISDN))
}

// Results, the closed set of the metric's result label.
const (
	resFound         = "found"
	resVerified      = "verified"
	resNotVerified   = "not_verified"
	resNotFound      = "not_found"
	resUnauth        = "unauthenticated"
	resForbidden     = "forbidden"
	resInvalid       = "invalid"
	resUnavailable   = "unavailable"
	resInternalError = "error"
)

// endpoint serves one operation: it renders the answer or the problem, logs
// one line and counts the result.
func (a *API) endpoint(op Operation) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := a.now()
		af, body, err := a.serve(r, op, start)
		var p *ProblemDetails
		if err != nil {
			p = a.problem(r, err)
		}
		result := resultOf(op, body, p)
		a.requests.WithLabelValues(string(op), result).Inc()
		attrs := []slog.Attr{slog.String("operation", string(op)), slog.String("af", af), slog.String("result", result)}
		w.Header().Set("Cache-Control", "no-store")
		if p != nil {
			if p.Status >= 500 {
				attrs = append(attrs, slog.String("error", p.Error()))
				a.log.LogAttrs(r.Context(), slog.LevelError, "3gpp-ueid request failed", attrs...)
			} else {
				attrs = append(attrs, slog.String("reason", p.Error()))
				a.log.LogAttrs(r.Context(), slog.LevelInfo, "3gpp-ueid request", attrs...)
			}
			if p.Status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="3gpp-ueid"`)
			}
			writeJSON(w, p.Status, "application/problem+json", p)
			return
		}
		a.log.LogAttrs(r.Context(), slog.LevelInfo, "3gpp-ueid request", attrs...)
		writeJSON(w, http.StatusOK, "application/json", body)
	})
}

// resultOf is the metric's result label for an answer body or problem p.
func resultOf(op Operation, body any, p *ProblemDetails) string {
	switch {
	case p == nil && op == OpVerifyMSISDN:
		if v, _ := body.(MsisdnVerification); v.Verified {
			return resVerified
		}
		return resNotVerified
	case p == nil:
		return resFound
	}
	switch p.Status {
	case http.StatusUnauthorized:
		return resUnauth
	case http.StatusForbidden:
		return resForbidden
	case http.StatusNotFound:
		return resNotFound
	case http.StatusServiceUnavailable:
		return resUnavailable
	}
	if p.Status < 500 {
		return resInvalid
	}
	return resInternalError
}

// serve checks the caller and the request, looks the address up and returns
// the answer body. It returns the afId for the log once it is known.
func (a *API) serve(r *http.Request, op Operation, at time.Time) (string, any, error) {
	cred, ok := a.authenticate(r)
	if !ok {
		return "", nil, &ProblemDetails{Status: http.StatusUnauthorized,
			Detail: "a valid bearer token is required (Authorization: Bearer TOKEN)", reason: "missing or unknown bearer token"}
	}
	if !cred.Allows(op) {
		return "", nil, &ProblemDetails{Status: http.StatusForbidden, Cause: CauseRequestNotAuthorized,
			Detail: "this credential may not call " + string(op)}
	}
	var req MsisdnVerifyReq
	if err := decode(r, &req); err != nil {
		return "", nil, err
	}
	if err := checkAF(req.AfID, cred); err != nil {
		return "", nil, err
	}
	af := req.AfID
	q, err := parseQuery(req.UeIDReq)
	if err != nil {
		return af, nil, err
	}
	var claimed string
	if op == OpVerifyMSISDN {
		if claimed, err = parseClaim(req.Gpsi, req.Msisdn); err != nil {
			return af, nil, err
		}
	} else if req.Gpsi != "" || req.Msisdn != "" {
		return af, nil, invalid(CauseOptionalIEIncorrect, "get-msisdn takes no number; use verify-msisdn to check one",
			InvalidParam{Param: "gpsi"}, InvalidParam{Param: "msisdn"})
	}
	q.at = at
	number, err := a.resolve(r.Context(), q)
	if err != nil {
		return af, nil, err
	}
	if op == OpVerifyMSISDN {
		return af, MsisdnVerification{Verified: msisdn.Equal(number, claimed)}, nil
	}
	digits := strings.TrimPrefix(number, "+")
	return af, MsisdnInfo{Gpsi: "msisdn-" + digits, Msisdn: digits}, nil
}

// authenticate finds the credential of the request's bearer token.
func (a *API) authenticate(r *http.Request) (Credential, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return Credential{}, false
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return Credential{}, false
	}
	return authenticate(a.creds, token)
}

// decode reads a JSON body into v. Unknown members are ignored, as TS
// 29.500 asks of receivers.
func decode(r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &ProblemDetails{Status: http.StatusUnsupportedMediaType, Detail: "the request body must be application/json"}
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &ProblemDetails{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("the request body exceeds %d bytes", maxBody)}
		}
		// Not err.Error(): json's type errors quote numeric values, and a
		// misplaced phone number must not reach the log.
		return &ProblemDetails{Status: http.StatusBadRequest, Cause: CauseInvalidMsgFormat,
			Detail: "the request body is not a valid UeIdReq JSON object"}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &ProblemDetails{Status: http.StatusBadRequest, Cause: CauseInvalidMsgFormat,
			Detail: "the request body must hold exactly one JSON object"}
	}
	return nil
}

// checkAF checks the afId: present, printable, and the credential's.
func checkAF(af string, c Credential) error {
	if af == "" {
		return invalid(CauseMandatoryIEMissing, "afId is required", InvalidParam{Param: "afId", Reason: "missing"})
	}
	if len(af) > maxAFLen || strings.IndexFunc(af, func(r rune) bool { return !unicode.IsPrint(r) || r == ' ' }) >= 0 {
		return invalid(CauseMandatoryIEIncorrect, "afId is malformed",
			InvalidParam{Param: "afId", Reason: fmt.Sprintf("at most %d printable characters without spaces", maxAFLen)})
	}
	if c.AF != AnyAF && c.AF != af {
		return &ProblemDetails{Status: http.StatusForbidden, Cause: CauseRequestNotAuthorized,
			Detail: "this credential may not act for that afId"}
	}
	return nil
}

// query is a checked lookup.
type query struct {
	addr   netip.Addr
	port   uint16
	domain string
	at     time.Time
}

// parseQuery checks the UE address, port and domain of req.
func parseQuery(req UeIDReq) (query, error) {
	var q query
	if req.UeIPAddr == nil {
		if req.UeMacAddr != "" {
			return q, invalid(CauseMandatoryIEIncorrect, "numgate identifies UEs by IP address only; give ueIpAddr",
				InvalidParam{Param: "ueMacAddr", Reason: "not supported"})
		}
		return q, invalid(CauseMandatoryIEMissing, "ueIpAddr is required", InvalidParam{Param: "ueIpAddr", Reason: "missing"})
	}
	u := req.UeIPAddr
	n := 0
	for _, s := range []string{u.IPv4Addr, u.IPv6Addr, u.IPv6Prefix} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return q, invalid(CauseMandatoryIEIncorrect, "ueIpAddr must hold exactly one of ipv4Addr, ipv6Addr, ipv6Prefix",
			InvalidParam{Param: "ueIpAddr", Reason: "exactly one of ipv4Addr, ipv6Addr, ipv6Prefix"})
	}
	switch {
	case u.IPv4Addr != "":
		a, err := netip.ParseAddr(u.IPv4Addr)
		if err != nil || !a.Is4() {
			return q, invalid(CauseMandatoryIEIncorrect, "ueIpAddr.ipv4Addr is not a dotted-quad IPv4 address",
				InvalidParam{Param: "ueIpAddr/ipv4Addr", Reason: "not an IPv4 address"})
		}
		q.addr = a
	case u.IPv6Addr != "":
		a, err := netip.ParseAddr(u.IPv6Addr)
		if err != nil || !a.Is6() || a.Is4In6() || a.Zone() != "" {
			return q, invalid(CauseMandatoryIEIncorrect, "ueIpAddr.ipv6Addr is not an IPv6 address",
				InvalidParam{Param: "ueIpAddr/ipv6Addr", Reason: "not an IPv6 address (no zone, not IPv4-mapped)"})
		}
		q.addr = a
	default:
		p, err := netip.ParsePrefix(u.IPv6Prefix)
		if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() || p.Bits() < 64 {
			return q, invalid(CauseMandatoryIEIncorrect, "ueIpAddr.ipv6Prefix is not an IPv6 prefix of /64 or longer",
				InvalidParam{Param: "ueIpAddr/ipv6Prefix", Reason: "an IPv6 prefix of /64 or longer"})
		}
		q.addr = p.Masked().Addr()
	}
	if req.PortNumber != nil {
		if *req.PortNumber < 0 || *req.PortNumber > 65535 {
			return q, invalid(CauseOptionalIEIncorrect, "portNumber must be from 0 to 65535",
				InvalidParam{Param: "portNumber", Reason: "0 to 65535"})
		}
		q.port = uint16(*req.PortNumber)
	}
	q.domain = req.Dnn
	if q.domain == "" {
		q.domain = req.IPDomain
	}
	return q, nil
}

// parseClaim returns the number verify-msisdn is asked about, in E.164.
func parseClaim(gpsi, ms string) (string, error) {
	both := []InvalidParam{{Param: "gpsi"}, {Param: "msisdn"}}
	switch {
	case gpsi != "" && ms != "":
		return "", invalid(CauseMandatoryIEIncorrect, "give the number as gpsi or as msisdn, not both", both...)
	case gpsi == "" && ms == "":
		return "", invalid(CauseMandatoryIEMissing, "the number to verify is required, as gpsi or msisdn", both...)
	case gpsi != "":
		digits, ok := strings.CutPrefix(gpsi, "msisdn-")
		if !ok || !msisdn.Valid("+"+digits) {
			return "", invalid(CauseMandatoryIEIncorrect, `gpsi must be "msisdn-" followed by the E.164 digits`,
				InvalidParam{Param: "gpsi", Reason: `"msisdn-" and 5 to 15 digits`})
		}
		return "+" + digits, nil
	}
	n := ms
	if !strings.HasPrefix(n, "+") {
		n = "+" + n
	}
	if !msisdn.Valid(n) {
		return "", invalid(CauseMandatoryIEIncorrect, "msisdn must be an E.164 number (digits, optionally with a leading '+')",
			InvalidParam{Param: "msisdn", Reason: "E.164 digits"})
	}
	return n, nil
}

// errNoDomains wraps ErrNotIdentifiable for a dnn request without a
// domain lookup.
var errNoDomains = fmt.Errorf("ueid: dnn given but no per-domain bindings (RADIUS feed off): %w", network.ErrNotIdentifiable)

// resolve looks q up: in its routing domain when it names one, else
// through the identification chain.
func (a *API) resolve(ctx context.Context, q query) (string, error) {
	if q.domain != "" {
		if a.domains == nil {
			return "", errNoDomains
		}
		return a.domains.Lookup(q.domain, q.addr, q.port, q.at)
	}
	if a.ident == nil {
		return "", fmt.Errorf("ueid: no identifier for requests without dnn: %w", network.ErrNotIdentifiable)
	}
	id, err := a.ident.Identify(ctx, network.Connection{Addr: q.addr, Port: q.port, At: q.at})
	if err != nil {
		return "", err
	}
	if !msisdn.Valid(id.Number) {
		return "", fmt.Errorf("ueid: identifier %s answered a malformed number", id.Source)
	}
	return id.Number, nil
}

// invalid is a 400 with invalid parameters.
func invalid(cause, detail string, params ...InvalidParam) *ProblemDetails {
	return &ProblemDetails{Status: http.StatusBadRequest, Cause: cause, Detail: detail, InvalidParams: params}
}

// problem turns any error of serve into the ProblemDetails to send.
func (a *API) problem(r *http.Request, err error) *ProblemDetails {
	var p *ProblemDetails
	switch {
	case errors.As(err, &p):
		cp := *p
		p = &cp
	case errors.Is(err, network.ErrNotIdentifiable), errors.Is(err, network.ErrNotEligible),
		errors.Is(err, network.ErrInvalidNumber), errors.Is(err, network.ErrConsentDeclined):
		p = &ProblemDetails{Status: http.StatusNotFound, Cause: CauseContextNotFound,
			Detail: "no subscriber can be placed at this UE address (and port) now", reason: err.Error()}
	case errors.Is(err, network.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		p = &ProblemDetails{Status: http.StatusServiceUnavailable,
			Detail: "the operator's systems could not answer; try again later", reason: err.Error()}
	default:
		id := randid.ID()
		p = &ProblemDetails{Status: http.StatusInternalServerError, Cause: CauseUnspecifiedNFFailure,
			Detail: "internal error " + id, reason: err.Error() + " (error id " + id + ")"}
	}
	p.Title = http.StatusText(p.Status)
	p.Instance = r.URL.Path
	return p
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
