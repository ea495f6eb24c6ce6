package dqe

import (
	"mime"
	"net/http"
	"net/url"
)

// Limits on what a request may carry.
const (
	maxBody       = 16 << 10 // a form body or a query string
	maxParamBytes = 2048     // one parameter value
)

// params are a request's parameters: the query of a GET, the
// x-www-form-urlencoded body of a POST.
type params url.Values

// readParams reads the parameters of a GET or POST request; any other
// method, content type or a malformed or oversized input is error 01.
func readParams(w http.ResponseWriter, r *http.Request) (params, *Error) {
	switch r.Method {
	case http.MethodGet:
		if len(r.URL.RawQuery) > maxBody {
			return nil, fail(ErrInvalidRequest, "query string too large")
		}
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, fail(ErrInvalidRequest, "malformed query string")
		}
		return params(q), nil
	case http.MethodPost:
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, fail(ErrInvalidRequest, "POST body is not application/x-www-form-urlencoded")
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			return nil, fail(ErrInvalidRequest, "malformed or oversized form body")
		}
		return params(r.PostForm), nil
	}
	return nil, fail(ErrInvalidRequest, "method "+r.Method+" is not GET or POST")
}

// get returns the value of a parameter known under one or more spellings
// (the seed writes licence and Licence). A parameter given twice, under
// one spelling or two, is error 01, as is an oversized value; an absent
// parameter is "".
func (p params) get(names ...string) (string, *Error) {
	var val string
	var seen bool
	for _, n := range names {
		vs := p[n]
		if len(vs) > 1 || (seen && len(vs) == 1) {
			return "", fail(ErrInvalidRequest, "parameter "+names[0]+" given more than once")
		}
		if len(vs) == 1 {
			val, seen = vs[0], true
		}
	}
	if len(val) > maxParamBytes {
		return "", fail(ErrInvalidRequest, "parameter "+names[0]+" too long")
	}
	return val, nil
}

// has reports whether any spelling of a parameter was sent, even empty.
func (p params) has(names ...string) bool {
	for _, n := range names {
		if _, ok := p[n]; ok {
			return true
		}
	}
	return false
}
