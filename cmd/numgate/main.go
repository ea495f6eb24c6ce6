// Command numgate is the Number Verification gateway: one binary that serves
// the gateway, manages its clients, and runs a verification from the command
// line.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot(os.Stdout, os.Stderr, os.Getenv).ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "numgate:", err)
		os.Exit(exitCode(err))
	}
}
