package server_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/numgate/numgate/client"
	"github.com/numgate/numgate/internal/config"
	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/server"
)

// radiusServer assembles a gateway with the RADIUS feed on radiusAddr.
func radiusServer(t *testing.T, radiusAddr string) (*server.Server, net.Listener) {
	t.Helper()
	clients := filepath.Join(t.TempDir(), "radius-clients")
	if err := os.WriteFile(clients, []byte("127.0.0.1/32 Serve-Test-Shared-Secret-7 pgw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	cfg := config.Default()
	cfg.Listen = l.Addr().String()
	cfg.Data = t.TempDir()
	cfg.Radius.Clients = clients
	cfg.Radius.Listen = radiusAddr
	srv, err := server.New(t.Context(), cfg, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, l
}

// TestServeFailsWhenRadiusPortTaken: the RADIUS feed is the gateway's way
// of identifying devices; when its port is taken (another instance, a
// RADIUS server) Serve must fail, as it does for the HTTP address, not serve
// on while identifying nobody with one log line to say why.
func TestServeFailsWhenRadiusPortTaken(t *testing.T) {
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	srv, l := radiusServer(t, busy.LocalAddr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err = srv.Serve(ctx, l)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("Serve with the RADIUS port taken: %v (context: %v), want an error at once", err, ctx.Err())
	}

	// With the port free, Serve holds it while it serves.
	free := busy.LocalAddr().String()
	busy.Close()
	srv, l = radiusServer(t, free)
	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	for i := 0; ; i++ { // wait until it serves HTTP, after binding RADIUS
		resp, err := http.Get("http://" + l.Addr().String() + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if i == 100 {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c, err := net.ListenPacket("udp", free); err == nil {
		c.Close()
		t.Error("the RADIUS port is not bound while the gateway serves")
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("serve: %v", err)
	}
}

// TestShutdownWaitsForSlowIdentification: a request in flight when the
// gateway is told to stop is finished, even when it takes longer than the
// default 10 s grace because identification.timeout allows it, and the
// store is not closed under it.
func TestShutdownWaitsForSlowIdentification(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 11 s")
	}
	const slow = 11 * time.Second
	entered := make(chan struct{}, 1)
	ids := map[string]network.Identifier{"radius": network.IdentifierFunc(func(ctx context.Context, _ network.Connection) (network.Identity, error) {
		entered <- struct{}{}
		select {
		case <-time.After(slow):
			return network.Identity{Number: "+99012345678", Source: "slow"}, nil
		case <-ctx.Done():
			return network.Identity{}, ctx.Err()
		}
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Listen = l.Addr().String()
	cfg.Data = t.TempDir()
	cfg.Identification.Order = []string{"radius"} // the slow network
	cfg.Identification.Timeout = config.Duration(slow + 2*time.Second)
	srv, err := server.New(t.Context(), cfg, server.Options{Identifiers: ids})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, l) }()

	c := &client.Camara{BaseURL: "http://" + cfg.Listen, ClientID: client.DemoClientID, ClientSecret: client.DemoClientSecret, RedirectURI: client.DemoRedirectURI}
	d, err := c.Discover(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ar := client.NewAuthRequest("tel:+99012345678")
	opened := make(chan error, 1)
	go func() {
		_, err := c.OpenAsDevice(context.Background(), c.AuthorizeURL(d.AuthorizationEndpoint, ar), ar.State)
		opened <- err
	}()
	<-entered
	cancel() // SIGTERM while the device's request waits for the network
	err = <-served
	srv.Close()
	if err != nil {
		t.Errorf("Serve: %v, want a clean stop after the request in flight", err)
	}
	if err := <-opened; err != nil {
		t.Errorf("the device's request in flight during shutdown: %v, want its authorization code", err)
	}
}
