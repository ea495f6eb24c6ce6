// Command cli is the Number Verification tutorial's client: it logs in
// with a phone number at the tutorial's backend, then authenticates by
// opening the auth_url as the device would, and prints the result.
//
//	cli [-backend http://127.0.0.1:3000] [-ca ca.pem] +99012345678
//
// Exit status: 0 verified, 1 not verified, 2 no result (the operator could
// not tell, or an error). See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/numgate/numgate/examples/vonage/tutorial"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cli", flag.ContinueOnError)
	fs.SetOutput(stderr)
	backend := fs.String("backend", "http://127.0.0.1:3000", "the tutorial backend's URL")
	ca := fs.String("ca", "", "extra CA certificates (PEM file) to trust, for a gateway or backend with a private certificate")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cli [-backend URL] [-ca FILE] +<phone number>")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	phone := fs.Arg(0)
	hc, err := tutorial.NewHTTPClient(*ca)
	if err != nil {
		fmt.Fprintln(stderr, "cli:", err)
		return 2
	}

	authURL, err := tutorial.Login(ctx, hc, *backend, phone)
	if err != nil {
		fmt.Fprintln(stderr, "cli:", err)
		return 2
	}
	verified, err := tutorial.Auth(ctx, hc, authURL)
	var re *tutorial.ResultError
	switch {
	case errors.As(err, &re):
		fmt.Fprintf(stdout, "✘ %s could not be verified: %s (%s)\n", phone, re.Code, re.Description)
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "cli:", err)
		return 2
	case verified:
		fmt.Fprintf(stdout, "✔ %s is verified: it is the number of this device\n", phone)
		return 0
	}
	fmt.Fprintf(stdout, "✘ %s is not verified: it is not the number of this device\n", phone)
	return 1
}
