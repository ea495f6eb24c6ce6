package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/numgate/numgate/internal/network/virtual"
)

func (e *env) virtualNumbersCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "virtual-numbers",
		Short: "Print the virtual operator's test-number catalogue",
		Long: `Print the virtual operator's catalogue: which claimed numbers give which
outcome. The first matching rule decides. Rules reproduce the test numbers of
Vonage's Virtual Operator, tru.ID's sandbox and Telefónica's mock mode, so tests
written against those run unchanged against numgate.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EXAMPLE\tRULE\tOUTCOME\tCONVENTION\tDESCRIPTION")
			for _, en := range virtual.Catalogue() {
				ex := en.Example
				if ex == "" {
					ex = "(none)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ex, en.Rule, en.Outcome, en.Convention, en.Description)
			}
			return tw.Flush()
		},
	}
}
