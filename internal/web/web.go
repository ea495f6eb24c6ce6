package web

import (
	"embed"
	"html/template"
	"net/http"
	"net/url"

	"github.com/numgate/numgate/internal/network/virtual"
)

//go:embed playground.html playground.js playground.css
var files embed.FS

var page = template.Must(template.ParseFS(files, "playground.html"))

// Paths the playground serves, under the issuer's path (where the OAuth
// endpoints are, and so the redirect URI ISSUER/playground/callback).
const (
	PagePath     = "/playground"
	CallbackPath = "/playground/callback"
	scriptPath   = "/playground/playground.js"
	stylePath    = "/playground/playground.css"
)

// contentSecurityPolicy lets the pages load only their own script and style
// and talk only to the gateway.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// Config is what the playground needs to know of the gateway.
type Config struct {
	// Issuer is the gateway's issuer URL; the pages call its /authorize,
	// /token and CAMARA endpoints.
	Issuer string
	// ClientID and ClientSecret are the demo client's.
	ClientID, ClientSecret string
	// RedirectURI is the demo client's registered redirect URI for the
	// playground: the issuer's CallbackPath.
	RedirectURI string
	// Purpose is the dpv: purpose scope the page asks for.
	Purpose string
	// Catalogue is the virtual operator's, shown when it is in the
	// identification policy; nil hides it.
	Catalogue []virtual.Entry
}

// Mount adds the playground's routes to mux, under the issuer's path.
func Mount(mux *http.ServeMux, cfg Config) {
	v := view{Config: cfg}
	if u, err := url.Parse(cfg.Issuer); err == nil {
		v.Base = u.EscapedPath()
		// The CAMARA API is served at the root of the issuer's origin.
		v.API = u.Scheme + "://" + u.Host
	}
	mux.HandleFunc("GET "+v.Base+PagePath, func(w http.ResponseWriter, r *http.Request) {
		render(w, v, false)
	})
	mux.HandleFunc("GET "+v.Base+CallbackPath, func(w http.ResponseWriter, r *http.Request) {
		render(w, v, true)
	})
	mux.HandleFunc("GET "+v.Base+scriptPath, asset("playground.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET "+v.Base+stylePath, asset("playground.css", "text/css; charset=utf-8"))
}

// view is what the page template is given.
type view struct {
	Config
	// Base is the issuer's path ("" or "/prefix"), API the root of the
	// CAMARA API.
	Base, API string
	Callback  bool
}

// render writes the page; callback selects its second half (the backend
// steps after the redirect).
func render(w http.ResponseWriter, v view, callback bool) {
	headers(w, "text/html; charset=utf-8")
	v.Callback = callback
	_ = page.Execute(w, v)
}

func asset(name, contentType string) http.HandlerFunc {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(err) // embedded above: cannot happen
	}
	return func(w http.ResponseWriter, r *http.Request) {
		headers(w, contentType)
		_, _ = w.Write(b)
	}
}

func headers(w http.ResponseWriter, contentType string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}
