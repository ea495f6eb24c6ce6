package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/numgate/numgate/internal/config"
	"github.com/numgate/numgate/internal/server"
)

// serveFlags are the command-line settings of `numgate serve`; they win over
// the file and the environment.
type serveFlags struct {
	config, listen, data, staticBindings, issuer string
	radiusClients, radiusListen, radiusDomain    string
	ueidTokenFile                                string
	proxyProtocol                                []string
}

func (e *env) serveCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway (SQLite store and virtual operator by default)",
		Long: `Run the gateway. With no settings it listens on 127.0.0.1:9091, keeps its
data in ./numgate-data (SQLite), identifies devices with the virtual operator
and registers the demo client. Settings come from --config FILE, then
NUMGATE_* environment variables, then flags. SIGTERM or Ctrl-C stops it;
SIGHUP re-reads the static bindings file and the signing keys at once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Caught from the start: a SIGHUP during start-up (a deploy
			// tool that reloads at once) must not end the process; it is
			// handled once the gateway runs.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			cfg, fileErr := e.loadConfig(f.config)
			if fileErr != nil && !config.Partial(fileErr) {
				return fileErr
			}
			flags := cmd.Flags()
			if flags.Changed("listen") {
				cfg.Listen = f.listen
			}
			if flags.Changed("data") {
				cfg.Data = f.data
			}
			if flags.Changed("static-bindings") {
				cfg.Identification.StaticBindings = f.staticBindings
			}
			if flags.Changed("issuer") {
				cfg.Issuer = f.issuer
			}
			if flags.Changed("radius-clients") {
				cfg.Radius.Clients = f.radiusClients
			}
			if flags.Changed("radius-listen") {
				cfg.Radius.Listen = f.radiusListen
			}
			if flags.Changed("radius-default-domain") {
				cfg.Radius.DefaultDomain = f.radiusDomain
			}
			if flags.Changed("ueid-token-file") {
				cfg.UEID.TokenFile = f.ueidTokenFile
			}
			if flags.Changed("proxy-protocol") {
				cfg.ProxyProtocol = f.proxyProtocol
			}
			if err := errors.Join(fileErr, cfg.Validate()); err != nil {
				return fmt.Errorf("invalid configuration:\n%w", err)
			}
			log := newLogger(e.stderr, cfg.Log)
			ctx := cmd.Context()
			// Listen first: a start that cannot get its address (a gateway
			// already running there) must fail before server.New touches
			// the store (migrations, registering or retiring the demo client).
			l, err := net.Listen("tcp", cfg.Listen)
			if err != nil {
				return err
			}
			srv, err := server.New(ctx, cfg, server.Options{Logger: log})
			if err != nil {
				l.Close()
				return err
			}
			defer srv.Close()
			perClient, perNumber, _ := cfg.Limits() // validated by Load
			log.Info("numgate listening", "addr", l.Addr().String(), "issuer", cfg.IssuerURL(),
				"store", cfg.Store.Driver, "data", cfg.Data, "identification", cfg.IdentifierOrder(),
				"demo_client", cfg.DemoClientEnabled(), "rate_limit_per_client", perClient.String(),
				"rate_limit_per_number", perNumber.String())
			if cfg.Development() {
				log.Warn("development defaults: demo client, virtual operator, private webhooks and no rate limits unless configured; " +
					"set trusted_proxies or proxy_protocol, or listen on a public address, for production")
			}
			go reloadOnHangup(ctx, hup, srv, log)
			err = srv.Serve(ctx, l)
			log.Info("numgate stopped")
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "configuration file (YAML); env NUMGATE_CONFIG")
	fl.StringVar(&f.listen, "listen", "127.0.0.1:9091", "HTTP listen address HOST:PORT; env NUMGATE_LISTEN")
	fl.StringVar(&f.data, "data", "./numgate-data", "data directory; env NUMGATE_DATA")
	fl.StringVar(&f.staticBindings, "static-bindings", "", "static bindings file (ADDRESS NUMBER per line); env NUMGATE_STATIC_BINDINGS")
	fl.StringVar(&f.issuer, "issuer", "", "OAuth issuer URL (default http://LISTEN); env NUMGATE_ISSUER")
	fl.StringVar(&f.radiusClients, "radius-clients", "", "RADIUS clients file (enables the accounting feed); env NUMGATE_RADIUS_CLIENTS")
	fl.StringVar(&f.radiusListen, "radius-listen", ":1813", "RADIUS accounting UDP address; env NUMGATE_RADIUS_LISTEN")
	fl.StringVar(&f.radiusDomain, "radius-default-domain", "*", "APN searched for HTTP connections (* = any, if unambiguous); env NUMGATE_RADIUS_DEFAULT_DOMAIN")
	fl.StringVar(&f.ueidTokenFile, "ueid-token-file", "", "3gpp-ueid API credentials file (enables /3gpp-ueid/v1); env NUMGATE_UEID_TOKEN_FILE")
	fl.StringSliceVar(&f.proxyProtocol, "proxy-protocol", nil, "networks whose connections must open with a PROXY protocol header (comma-separated CIDRs); env NUMGATE_PROXY_PROTOCOL")
	return cmd
}

// loadConfig reads the configuration file (flag or NUMGATE_CONFIG) and the environment.
func (e *env) loadConfig(path string) (config.Config, error) {
	if path == "" {
		path = e.getenv("NUMGATE_CONFIG")
	}
	return config.Load(path, e.getenv)
}

// dataFlags gives cmd and its subcommands the --config and --data flags
// of the commands that work on a gateway's data rather than serve it, and
// returns their configuration loader: as loadConfig, with --data applied.
func (e *env) dataFlags(cmd *cobra.Command) func() (config.Config, error) {
	var configPath, data string
	cmd.PersistentFlags().StringVar(&configPath, "config", "", "configuration file (YAML); env NUMGATE_CONFIG")
	cmd.PersistentFlags().StringVar(&data, "data", "", "data directory (default ./numgate-data); env NUMGATE_DATA")
	return func() (config.Config, error) {
		cfg, err := e.loadConfig(configPath)
		if data != "" {
			cfg.Data = data
		}
		return cfg, err
	}
}

func newLogger(w interface{ Write([]byte) (int, error) }, c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// reloadOnHangup re-reads the gateway's files on each SIGHUP received on
// hup until ctx ends.
func reloadOnHangup(ctx context.Context, hup <-chan os.Signal, srv *server.Server, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := srv.Reload(); err != nil {
				log.Warn("SIGHUP: reload failed, previous contents kept", "error", err)
			} else {
				log.Info("SIGHUP: reloaded")
			}
		}
	}
}
