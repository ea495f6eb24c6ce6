package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/spf13/cobra"

	"github.com/numgate/numgate/internal/config"
	"github.com/numgate/numgate/internal/oauth"
	"github.com/numgate/numgate/internal/randid"
	"github.com/numgate/numgate/internal/server"
	"github.com/numgate/numgate/internal/store"
)

func (e *env) clientsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "clients",
		Short: "Register, list and remove clients (relying parties)",
	}
	load := e.dataFlags(cmd)
	// open opens the configured store; create says whether a SQLite data
	// directory without a database may get a new one (add: yes; list and
	// remove: a missing one is a mistyped --data, not an empty registry).
	open := func(cmd *cobra.Command, create bool) (store.Store, error) {
		cfg, fileErr := load()
		if fileErr != nil && !config.Partial(fileErr) {
			return nil, fileErr
		}
		// The store settings are checked as serve checks them: an unknown
		// driver would otherwise fall back to SQLite, and driver postgres
		// without a DSN would connect to libpq's default database and
		// migrate a schema there. Serving settings are not this command's.
		if err := errors.Join(fileErr, cfg.ValidateStore()); err != nil {
			return nil, fmt.Errorf("invalid configuration:\n%w", err)
		}
		if cfg.Store.Driver == "sqlite" && !create {
			if _, err := os.Stat(server.SQLitePath(cfg)); errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("no numgate database in %s (a different --data?); `numgate serve` or `numgate clients add` creates it", cfg.Data)
			}
		}
		if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
			return nil, err
		}
		return server.OpenStore(cmd.Context(), cfg)
	}

	var (
		id, secret, jwksFile, idTokenAlg string
		redirects, scopes                []string
	)
	add := &cobra.Command{
		Use:   "add",
		Short: "Register a client",
		Long: `Register a client. With --jwks (a JWK Set or a single public JWK) the client
authenticates with private_key_jwt; with --secret, with client_secret_basic or
client_secret_post. With neither, a secret is generated and printed once.
Redirect URIs must be https, except on loopback addresses. With no --scope the
client may ask for every scope numgate serves.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := store.Client{ID: id, RedirectURIs: redirects, Scopes: scopes, IDTokenAlg: idTokenAlg, CreatedAt: time.Now().UTC()}
			if err := checkClient(c); err != nil {
				return err
			}
			if jwksFile != "" {
				set, err := readPublicJWKS(jwksFile)
				if err != nil {
					return err
				}
				c.JWKS = set
			}
			generated := false
			if secret == "" && jwksFile == "" {
				secret, generated = randid.Secret(), true
			}
			if secret != "" {
				if len(secret) < 16 {
					return errors.New("--secret must be at least 16 characters")
				}
				c.SecretHash, c.SecretSalt = oauth.HashSecret(secret)
			}
			if err := oauth.ValidateClient(c); err != nil {
				return err
			}
			st, err := open(cmd, true)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.CreateClient(cmd.Context(), c); err != nil {
				if errors.Is(err, store.ErrAlreadyExists) {
					return fmt.Errorf("client %q already exists (remove it first)", id)
				}
				return err
			}
			fmt.Fprintf(e.stdout, "client %s registered (%s)\n", id, authMethods(c))
			if generated {
				fmt.Fprintf(e.stdout, "client secret (shown once): %s\n", secret)
			}
			return nil
		},
	}
	add.Flags().StringVar(&id, "id", "", "client id (required)")
	add.Flags().StringVar(&secret, "secret", "", "client secret (at least 16 characters)")
	add.Flags().StringVar(&jwksFile, "jwks", "", "file with the client's public JWK Set or single JWK (enables private_key_jwt)")
	add.Flags().StringArrayVar(&redirects, "redirect-uri", nil, "redirect URI (repeatable, at least one)")
	add.Flags().StringArrayVar(&scopes, "scope", nil, "scope the client may ask for (repeatable; default: all)")
	add.Flags().StringVar(&idTokenAlg, "id-token-alg", "", "ID token signing algorithm: RS256 (default) or ES256")
	_ = add.MarkFlagRequired("id")

	list := &cobra.Command{
		Use:   "list",
		Short: "List clients",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := open(cmd, false)
			if err != nil {
				return err
			}
			defer st.Close()
			cs, err := st.ListClients(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tAUTH\tREDIRECT URIS\tSCOPES\tCREATED")
			for _, c := range cs {
				sc := strings.Join(c.Scopes, " ")
				if sc == "" {
					sc = "(all)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, authMethods(c), strings.Join(c.RedirectURIs, " "), sc, c.CreatedAt.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	remove := &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a client",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := open(cmd, false)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.DeleteClient(cmd.Context(), args[0]); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("no client %q", args[0])
				}
				return err
			}
			fmt.Fprintf(e.stdout, "client %s removed\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(add, list, remove)
	return cmd
}

func authMethods(c store.Client) string {
	var m []string
	if len(c.JWKS) > 0 {
		m = append(m, "private_key_jwt")
	}
	if len(c.SecretHash) > 0 {
		m = append(m, "client_secret")
	}
	return strings.Join(m, ",")
}

// checkClient applies the command line's own rules before anything is
// written; oauth.ValidateClient checks the rest of the registration.
func checkClient(c store.Client) error {
	var errs []error
	if len(c.RedirectURIs) == 0 {
		errs = append(errs, errors.New("at least one --redirect-uri is required"))
	}
	for _, r := range c.RedirectURIs {
		if err := CheckRedirectURI(r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// CheckRedirectURI enforces: absolute, no fragment, https unless the host is
// a loopback address (RFC 8252 §7.3).
func CheckRedirectURI(s string) error {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("redirect URI %q is not an absolute URL", s)
	}
	if u.Fragment != "" {
		return fmt.Errorf("redirect URI %q must not have a fragment", s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if a, err := netip.ParseAddr(host); (err == nil && a.IsLoopback()) || host == "localhost" {
			return nil
		}
		return fmt.Errorf("redirect URI %q: http is allowed only on loopback addresses; use https", s)
	}
	return fmt.Errorf("redirect URI %q: scheme must be https (or http on loopback)", s)
}

// readPublicJWKS reads a JWK Set or a single JWK and returns a JWK Set of
// public keys only.
func readPublicJWKS(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil || len(set.Keys) == 0 {
		var k jose.JSONWebKey
		if err := json.Unmarshal(raw, &k); err != nil {
			return nil, fmt.Errorf("%s: neither a JWK Set nor a JWK: %v", path, err)
		}
		set.Keys = []jose.JSONWebKey{k}
	}
	for i, k := range set.Keys {
		if !k.Valid() {
			return nil, fmt.Errorf("%s: key %d is not a valid JWK", path, i)
		}
		if !k.IsPublic() {
			return nil, fmt.Errorf("%s: key %d is a private key; register the public key only", path, i)
		}
	}
	return json.Marshal(set)
}
