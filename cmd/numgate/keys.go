package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/numgate/numgate/internal/oauth"
	"github.com/numgate/numgate/internal/server"
)

func (e *env) keysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "List or rotate the ID token signing keys",
	}
	load := e.dataFlags(cmd)
	keyFile := func() (string, error) {
		cfg, err := load()
		if err != nil {
			return "", err
		}
		path := filepath.Join(cfg.Data, server.KeyFile)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("no signing key file in %s (a different --data?); numgate serve creates it at its first start", cfg.Data)
		}
		return path, nil
	}

	list := &cobra.Command{
		Use:   "list",
		Short: "List the keys of the key file: which sign, which are only published",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			path, err := keyFile()
			if err != nil {
				return err
			}
			k, err := oauth.LoadKeys(path)
			if err != nil {
				return err
			}
			rs, es := k.SigningKIDs()
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KID\tALG\tROLE")
			for _, jwk := range k.PublicJWKS().Keys {
				role := "published (verifies earlier ID tokens)"
				if jwk.KeyID == rs || jwk.KeyID == es {
					role = "signs"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", jwk.KeyID, jwk.Algorithm, role)
			}
			return tw.Flush()
		},
	}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Sign with fresh keys; keep the previous ones published",
		Long: `Rotate the ID token signing keys: a fresh RSA-2048 (RS256) and P-256 (ES256)
key sign from now on, the two pairs that signed before stay published in the
JWKS (ID tokens they signed stay verifiable, even if the gateways had not yet
reloaded the previous rotation), and any older keys are dropped.
Running gateways sign with the new keys after SIGHUP or a restart; replicas
share the key file, so signal each of them. Relying parties fetch the JWKS
again when they meet the new kid.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			path, err := keyFile()
			if err != nil {
				return err
			}
			k, err := oauth.RotateKeyFile(path)
			if err != nil {
				return err
			}
			rs, es := k.SigningKIDs()
			fmt.Fprintf(e.stdout, "new signing keys: RS256 %s, ES256 %s\n", rs, es)
			fmt.Fprintln(e.stdout, "send SIGHUP to (or restart) every running gateway to sign with them")
			return nil
		},
	}
	cmd.AddCommand(list, rotate)
	return cmd
}
