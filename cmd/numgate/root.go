package main

import (
	"errors"
	"io"

	"github.com/spf13/cobra"
)

// errNotVerified is returned by `verify` when the flow ran but the number is
// not the device's: exit code 1. Other failures exit with 2.
var errNotVerified = errors.New("not verified")

func exitCode(err error) int {
	if errors.Is(err, errNotVerified) {
		return 1
	}
	return 2
}

// env is how commands read the environment (injected for tests).
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

func newRoot(stdout, stderr io.Writer, getenv func(string) string) *cobra.Command {
	e := &env{stdout: stdout, stderr: stderr, getenv: getenv}
	root := &cobra.Command{
		Use:           "numgate",
		Short:         "numgate is a Number Verification gateway (CAMARA, KPN, Vonage, DQE dialects)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(e.serveCmd(), e.clientsCmd(), e.keysCmd(), e.verifyCmd(), e.virtualNumbersCmd())
	return root
}
