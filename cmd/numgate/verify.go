package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/numgate/numgate/client"
	"github.com/numgate/numgate/internal/msisdn"
)

func (e *env) verifyCmd() *cobra.Command {
	// --timeout bounds the whole flow through the context: no per-request
	// timeout of the client's own may cut a slow network's identification
	// (identification.timeout may exceed 30 s) shorter than asked.
	c := client.Camara{ClientID: client.DemoClientID, ClientSecret: client.DemoClientSecret, RedirectURI: client.DemoRedirectURI,
		HTTP: &http.Client{}}
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "verify [--server URL] NUMBER",
		Short: "Run a whole CAMARA verification of NUMBER (E.164) against a running gateway",
		Long: `Run the complete CAMARA Number Verification flow, acting as the app's backend
and as the device: discovery, /authorize with login_hint tel:NUMBER, token,
POST /verify. Prints each step and the verdict. Exit code 0: verified;
1: not verified (or the network could not identify the device: an error
redirect from /authorize); 2: the flow failed (for example the gateway could
not be reached). Uses the demo client unless --client-id/--client-secret are
given.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			number := args[0]
			if !msisdn.Valid(number) {
				return errors.New("NUMBER must be in E.164 form: '+' then 5 to 15 digits, e.g. +99012345678")
			}
			if c.Version != "v1" && c.Version != "v2" {
				return fmt.Errorf("--api-version %q: numgate serves v2 and v1", c.Version)
			}
			if c.BaseURL == "" {
				c.BaseURL = e.getenv("NUMGATE_SERVER")
			}
			if c.BaseURL == "" {
				c.BaseURL = "http://127.0.0.1:9091"
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel func()
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			n := 0
			ok, err := c.VerifyNumber(ctx, number, func(s client.Step) {
				n++
				fmt.Fprintf(e.stdout, "%d. %-9s %s\n", n, s.Name, s.Detail)
			})
			var oe *client.OAuthError
			switch {
			case errors.As(err, &oe):
				fmt.Fprintf(e.stdout, "verdict: NOT VERIFIED (%s: %s)\n", authorizeRefusal(oe.Code), oe.Error())
				return fmt.Errorf("%w: %s", errNotVerified, oe.Code)
			case err != nil:
				return err
			case ok:
				fmt.Fprintln(e.stdout, "verdict: VERIFIED (the number is the device's)")
				return nil
			default:
				fmt.Fprintln(e.stdout, "verdict: NOT VERIFIED (the device has another number)")
				return errNotVerified
			}
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&c.BaseURL, "server", "", "gateway URL (default http://127.0.0.1:9091); env NUMGATE_SERVER")
	fl.StringVar(&c.ClientID, "client-id", c.ClientID, "client id")
	fl.StringVar(&c.ClientSecret, "client-secret", c.ClientSecret, "client secret")
	fl.StringVar(&c.RedirectURI, "redirect-uri", c.RedirectURI, "registered redirect URI")
	fl.StringVar(&c.Version, "api-version", "v2", "CAMARA API version: v2 or v1")
	fl.DurationVar(&timeout, "timeout", 60*time.Second, "give up after this long")
	return cmd
}

// authorizeRefusal says in words what an authorize error redirect means
// for the verification.
func authorizeRefusal(code string) string {
	switch code {
	case "login_required":
		return "the network did not identify the device"
	case "access_denied":
		return "the network identified the device but refused to verify it"
	case "temporarily_unavailable":
		return "the network could not answer in time"
	default:
		return "the authorization server refused the request"
	}
}
