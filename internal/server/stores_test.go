package server_test

import (
	"context"
	"net"
	"testing"

	"github.com/numgate/numgate/internal/config"
	"github.com/numgate/numgate/internal/server"
)

// A PostgreSQL store that cannot be reached is an error at start, not a
// panic: postgres.Open's nil *Store must not reach the caller as a non-nil
// store.Store (whose Close would dereference it).
func TestOpenStoreUnreachablePostgres(t *testing.T) {
	// A port nobody listens on: take one, then free it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.Store = config.Store{Driver: "postgres", DSN: "postgres://numgate@" + addr + "/numgate?connect_timeout=2"}

	st, err := server.OpenStore(context.Background(), cfg)
	if err == nil {
		st.Close()
		t.Fatal("OpenStore of an unreachable PostgreSQL: no error")
	}
	if st != nil {
		t.Errorf("OpenStore failed (%v) but returned a non-nil store %#v", err, st)
	}
	if _, err := server.New(context.Background(), cfg, server.Options{}); err == nil {
		t.Fatal("New with an unreachable PostgreSQL: no error")
	}
}
