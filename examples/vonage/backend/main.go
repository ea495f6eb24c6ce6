// Command backend is the Number Verification tutorial's backend: POST
// /login starts a verification (the Network Enablement call) and answers
// the auth_url; GET /callback, where the operator sends the device back,
// exchanges the code for an access token and calls /verify.
//
// It runs against Vonage (-api https://api-eu.vonage.com, the default) or
// against numgate's Vonage dialect (-api https://<numgate>). See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/numgate/numgate/examples/vonage/tutorial"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command's flags.
type options struct {
	listen, api, appID, keyFile, ca, redirectURI, tlsCert, tlsKey string
	printJWKS                                                     bool
}

// parseFlags reads the flags; the application's ID and key file may also
// come from VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY_PATH.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("backend", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:3000", "address to listen on")
	fs.StringVar(&o.api, "api", "https://api-eu.vonage.com", "the Vonage API's base URL, or numgate's")
	fs.StringVar(&o.appID, "application-id", os.Getenv("VONAGE_APPLICATION_ID"), "the Vonage application's ID")
	fs.StringVar(&o.keyFile, "private-key", os.Getenv("VONAGE_PRIVATE_KEY_PATH"), "the application's private key (PEM file)")
	fs.StringVar(&o.ca, "ca", "", "extra CA certificates (PEM file) to trust, for a gateway with a private certificate")
	fs.StringVar(&o.redirectURI, "redirect-uri", "", "this backend's /callback URL as registered with the application (default http://LISTEN/callback)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS with this certificate (PEM file)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "and this key (PEM file)")
	fs.BoolVar(&o.printJWKS, "print-jwks", false, "print the public key of -private-key as a JWK Set (to register the application) and exit")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.printJWKS {
		if o.keyFile == "" {
			return o, errors.New("-print-jwks needs -private-key")
		}
		return o, nil
	}
	if o.appID == "" || o.keyFile == "" {
		return o, errors.New("-application-id and -private-key are required")
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return o, errors.New("-tls-cert and -tls-key go together")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "backend:", err)
		return 2
	}
	if o.printJWKS {
		if err := printJWKS(stdout, o.keyFile); err != nil {
			fmt.Fprintln(stderr, "backend:", err)
			return 1
		}
		return 0
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		fmt.Fprintln(stderr, "backend:", err)
		return 1
	}
	if err := serve(ctx, ln, o, stderr); err != nil {
		fmt.Fprintln(stderr, "backend:", err)
		return 1
	}
	return 0
}

// printJWKS writes the public half of the key in keyFile as a JWK Set, the
// form in which numgate registers an application's key.
func printJWKS(w io.Writer, keyFile string) error {
	pemBytes, err := os.ReadFile(keyFile)
	if err != nil {
		return err
	}
	key, err := tutorial.ParsePrivateKey(pemBytes)
	if err != nil {
		return err
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, Use: "sig", Algorithm: string(jose.RS256)}}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(set)
}

// serve runs the backend on ln until ctx is done.
func serve(ctx context.Context, ln net.Listener, o options, stderr io.Writer) error {
	pemBytes, err := os.ReadFile(o.keyFile)
	if err != nil {
		return err
	}
	key, err := tutorial.ParsePrivateKey(pemBytes)
	if err != nil {
		return err
	}
	hc, err := tutorial.NewHTTPClient(o.ca)
	if err != nil {
		return err
	}
	scheme := "http"
	if o.tlsCert != "" {
		scheme = "https"
	}
	if o.redirectURI == "" {
		o.redirectURI = scheme + "://" + ln.Addr().String() + "/callback"
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	b, err := tutorial.NewBackend(tutorial.BackendConfig{
		APIURL: o.api, ApplicationID: o.appID, PrivateKey: key, RedirectURI: o.redirectURI, HTTP: hc, Logger: log,
	})
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: b, ReadHeaderTimeout: 10 * time.Second}
	log.Info("listening", "url", scheme+"://"+ln.Addr().String(), "callback", o.redirectURI, "api", o.api)
	errc := make(chan error, 1)
	go func() {
		if o.tlsCert != "" {
			errc <- srv.ServeTLS(ln, o.tlsCert, o.tlsKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
