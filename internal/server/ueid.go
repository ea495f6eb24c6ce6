package server

import (
	"net/http"

	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/network/radius"
	"github.com/numgate/numgate/internal/ueid"
)

// mountUEID mounts the 3gpp-ueid lookup API (config ueid.token_file): the
// identification chain answers requests without a dnn, the RADIUS binding
// table (when the feed runs) those with one.
func (s *Server) mountUEID(mux *http.ServeMux, chain, feed network.Identifier) error {
	creds, err := ueid.LoadCredentials(s.cfg.UEID.TokenFile)
	if err != nil {
		return err
	}
	c := ueid.Config{
		Credentials: creds, Identifier: chain, Now: s.now,
		Logger: s.log.With("component", "ueid"), Registerer: s.metrics,
	}
	if tab, ok := feed.(*radius.Table); ok {
		c.Domains = tab
	}
	api, err := ueid.New(c)
	if err != nil {
		return err
	}
	api.Mount(mux)
	return nil
}
