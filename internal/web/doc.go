// Package web serves the playground: a page on which a developer runs a
// whole CAMARA Number Verification in a browser against the gateway, with
// the browser as the device and the page itself as the relying party's
// backend (it uses the demo client, whose secret is published, so the
// playground exists only where the demo client does).
//
// The page is static HTML and JavaScript embedded in the binary; the
// flow's parameters (client, redirect URI, purpose) and the virtual
// operator's catalogue are filled in by html/template. The script runs the
// flow exactly as a relying party must: PKCE S256 and state generated in
// the browser, POST /authorize (a form, so the number stays out of every
// URL), then POST /token and POST /verify (or GET /device-phone-number)
// with the code it was redirected back with, and it
// shows every request and response.
package web
