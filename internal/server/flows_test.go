package server_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/numgate/numgate/client"
	"github.com/numgate/numgate/internal/config"
	"github.com/numgate/numgate/internal/server"
	_ "github.com/numgate/numgate/internal/store/sqlite" // the "sqlite" database/sql driver
)

// verifyScope is the scope of the flows these tests run.
const verifyScope = "number-verification:verify"

// pendingFlow is a flow interrupted twice: a code not yet exchanged, and
// an access token (of another flow) not yet used.
type pendingFlow struct {
	code, verifier, token string
}

// interrupt runs one flow to its code and another to its access token.
func interrupt(t *testing.T, g *gateway, number string) pendingFlow {
	t.Helper()
	c := g.demo()
	d, err := c.Discover(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ar := client.NewAuthRequest("tel:"+number, verifyScope)
	code, err := c.OpenAsDevice(t.Context(), c.AuthorizeURL(d.AuthorizationEndpoint, ar), ar.State)
	if err != nil {
		t.Fatal(err)
	}
	return pendingFlow{code: code, verifier: ar.PKCE.Verifier, token: g.token(t, number, verifyScope)}
}

// finish exchanges the code and uses the token, and returns the errors.
func (p pendingFlow) finish(t *testing.T, g *gateway, number string) (exchange, verify error) {
	t.Helper()
	c := g.demo()
	_, exchange = c.Exchange(t.Context(), g.URL+"/token", p.code, p.verifier)
	_, verify = c.Verify(t.Context(), p.token, number)
	return exchange, verify
}

// TestFlowsAcrossRestart: with flows in memory (the default with SQLite)
// a code and a token issued before a restart are unknown after it — the
// restart fails closed: invalid_grant and 401, never a second use — while
// the store's durable contents (clients) stay. With store.flows durable
// both still work after the restart.
func TestFlowsAcrossRestart(t *testing.T) {
	const number = "+99012345678"
	for _, tc := range []struct {
		flows   string
		survive bool
	}{{"", false}, {config.FlowsMemory, false}, {config.FlowsDurable, true}} {
		t.Run("flows="+tc.flows, func(t *testing.T) {
			dir := t.TempDir()
			mutate := func(c *config.Config) { c.Data, c.Store.Flows = dir, tc.flows }
			g := startGateway(t, mutate)
			p := interrupt(t, g, number)
			g.Stop()

			g = startGateway(t, mutate)
			exchange, verify := p.finish(t, g, number)
			if tc.survive {
				if exchange != nil || verify != nil {
					t.Fatalf("after a restart: exchange %v, verify %v; want both to work", exchange, verify)
				}
				return
			}
			var oe *client.OAuthError
			if !errors.As(exchange, &oe) || oe.Code != "invalid_grant" {
				t.Errorf("code issued before the restart: %v, want invalid_grant", exchange)
			}
			var ae *client.APIError
			if !errors.As(verify, &ae) || ae.Status != 401 {
				t.Errorf("token issued before the restart: %v, want 401", verify)
			}
			// The gateway itself is whole: a new flow verifies.
			if ok, err := g.demo().Verify(t.Context(), g.token(t, number, verifyScope), number); err != nil || !ok {
				t.Errorf("new flow after the restart: %v, %v; want verified", ok, err)
			}
		})
	}
}

// TestFlowsInMemoryWriteNothing: with flows in memory a whole verification
// leaves no code, token or attempt in the SQLite file (nothing for a
// restart to bring back); with durable flows the attempt is there.
func TestFlowsInMemoryWriteNothing(t *testing.T) {
	const number = "+99012345678"
	for _, tc := range []struct {
		flows    string
		attempts int
	}{{config.FlowsMemory, 0}, {config.FlowsDurable, 1}} {
		t.Run(tc.flows, func(t *testing.T) {
			dir := t.TempDir()
			g := startGateway(t, func(c *config.Config) { c.Data, c.Store.Flows = dir, tc.flows })
			if ok, err := g.demo().Verify(t.Context(), g.token(t, number, verifyScope), number); err != nil || !ok {
				t.Fatalf("verify: %v, %v", ok, err)
			}
			db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "numgate.db")+"?mode=ro")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var attempts, grants int
			if err := db.QueryRowContext(t.Context(), `SELECT (SELECT count(*) FROM attempts), (SELECT count(*) FROM grants)`).Scan(&attempts, &grants); err != nil {
				t.Fatal(err)
			}
			if attempts != tc.attempts {
				t.Errorf("attempts in the file: %d, want %d", attempts, tc.attempts)
			}
			if tc.attempts == 0 && grants != 0 {
				t.Errorf("grants in the file: %d, want none", grants)
			}
		})
	}
}

// TestDataDirLocked: a second gateway on a data directory whose gateway
// keeps flows in memory is refused, with a message that says why, and
// starts once the first has stopped.
func TestDataDirLocked(t *testing.T) {
	dir := t.TempDir()
	first := startGateway(t, func(c *config.Config) { c.Data = dir })
	cfg := config.Default()
	cfg.Data = dir
	_, err := server.New(context.Background(), cfg, server.Options{})
	if err == nil || !strings.Contains(err.Error(), "in use by another numgate serve") {
		t.Fatalf("second gateway on %s: %v, want refused as in use", dir, err)
	}
	first.Stop()
	second, err := server.New(context.Background(), cfg, server.Options{})
	if err != nil {
		t.Fatalf("after the first stopped: %v", err)
	}
	second.Close()
}
