package oauth

import (
	"mime"
	"net/http"
	"net/url"
	"slices"
)

// maxFormBytes bounds a request body at both endpoints.
const maxFormBytes = 64 << 10

// params are a request's OAuth parameters. RFC 6749 section 3.1: a parameter
// sent without a value counts as omitted, and none may be sent twice.
type params url.Values

// get returns the value of name, or "" when it is absent or empty.
func (p params) get(name string) string {
	if v := p[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// has reports whether name was sent with a non-empty value.
func (p params) has(name string) bool { return p.get(name) != "" }

// duplicate returns the first (in name order) parameter sent more than once,
// or "".
func (p params) duplicate(names ...string) string {
	if len(names) == 0 {
		for n := range p {
			names = append(names, n)
		}
		slices.Sort(names)
	}
	for _, n := range names {
		if len(p[n]) > 1 {
			return n
		}
	}
	return ""
}

// duplicateError is the invalid_request for a parameter sent twice. The
// name is echoed only when it is a plain parameter name: error_description
// is limited to printable ASCII without '"' and '\\' (RFC 6749 sections
// 4.1.2.1 and 5.2), and never carries the request's own text beyond that.
func duplicateError(name string) *Error {
	if !plainParamName(name) {
		return errorf(ErrCodeInvalidRequest, "a parameter was given more than once")
	}
	return errorf(ErrCodeInvalidRequest, name+" was given more than once")
}

// plainParamName reports whether s looks like an OAuth parameter name: 1 to
// 64 of a-z, 0-9 and '_'.
func plainParamName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// formType is the media type of a form body.
const formType = "application/x-www-form-urlencoded"

// readForm parses an application/x-www-form-urlencoded body (the query
// string is ignored), bounded by maxFormBytes.
func readForm(w http.ResponseWriter, r *http.Request) (params, *Error) {
	// The exact common value skips mime.ParseMediaType, which allocates.
	if ct := r.Header.Get("Content-Type"); ct != formType {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != formType {
			return nil, errorf(ErrCodeInvalidRequest, "the request body must be application/x-www-form-urlencoded")
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, errorf(ErrCodeInvalidRequest, "the request body is not a valid form or is too large").WithCause(err)
	}
	return params(r.PostForm), nil
}

// readQuery parses the query string of a GET request.
func readQuery(r *http.Request) (params, *Error) {
	if len(r.URL.RawQuery) > maxFormBytes {
		return nil, errorf(ErrCodeInvalidRequest, "the query string is too large")
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, errorf(ErrCodeInvalidRequest, "the query string is malformed").WithCause(err)
	}
	return params(q), nil
}
