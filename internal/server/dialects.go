package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/numgate/numgate/internal/dialect/dqe"
	"github.com/numgate/numgate/internal/dialect/kpn"
	"github.com/numgate/numgate/internal/dialect/vonage"
	"github.com/numgate/numgate/internal/directory"
	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/notify"
	"github.com/numgate/numgate/internal/store"
)

// defaultExpirySweep is how often open attempts past their deadline are
// expired, and ended attempts still due for a report are reported to their
// dialect (a KPN webhook, for example).
const defaultExpirySweep = 5 * time.Second

// sweepBatch is how many attempts one store query of the sweep reads.
const sweepBatch = 1000

// reportRetry is how long a failed report waits before it is due again.
const reportRetry = time.Minute

// reporter tells a dialect that one of its attempts ended (expired, or
// decided and never reported): it reports it if it must, and clears the
// attempt's report mark (core.Service.Reported) once the report is made.
// An error leaves the attempt due for the next sweep.
type reporter func(ctx context.Context, a store.Attempt) error

// mountDialects mounts the provider dialects besides CAMARA: each is one
// package over the same core, with its own routes and error shapes.
func (s *Server) mountDialects(mux *http.ServeMux, conn func(*http.Request) network.Connection) error {
	dir, err := s.directory()
	if err != nil {
		return err
	}
	s.notifier, err = notify.New(notify.Config{
		Store: s.store, Timeout: s.cfg.Webhooks.Timeout.D(), MaxTries: s.cfg.Webhooks.MaxTries,
		BaseDelay: s.cfg.Webhooks.BaseDelay.D(), MaxDelay: s.cfg.Webhooks.MaxDelay.D(),
		BlockPrivate: !s.cfg.WebhooksAllowPrivate(), Now: s.now,
		Logger: s.log.With("component", "webhooks"), Registerer: s.metrics,
	})
	if err != nil {
		return err
	}
	s.runners = append(s.runners, func(ctx context.Context) { _ = s.notifier.Run(ctx) })
	s.runners = append(s.runners, s.expireAttempts)

	// The dialects are mounted at the root of the issuer's origin, as the
	// CAMARA API is (only the OAuth server and the playground follow an
	// issuer's path): the URLs they hand out (DQE's device URL, Vonage's
	// auth_url, KPN's session and polling URIs) must name that root, or an
	// issuer with a path (https://host/nv) sends every device to a 404.
	base, err := origin(s.cfg.IssuerURL())
	if err != nil {
		return err
	}
	dc := s.cfg.DQE
	var dqeOperators map[string]dqe.OperatorPolicy
	if len(dc.Operators) > 0 {
		dqeOperators = map[string]dqe.OperatorPolicy{}
		for name, p := range dc.Operators {
			dqeOperators[name] = dqe.OperatorPolicy{Scopes: p.Scopes, Licences: p.Licences, Unreachable: p.Unreachable}
		}
	}
	d, err := dqe.New(dqe.Config{
		Store: s.store, Core: s.core, Connection: conn, BaseURL: base, Now: s.now,
		Logger:    s.log.With("component", "dqe"),
		Operator:  func(number string) string { return dir.Lookup(number).Name },
		Operators: dqeOperators, DefaultRegion: dc.DefaultRegion, ResultRetention: dc.ResultRetention.D(),
	})
	if err != nil {
		return err
	}
	d.Mount(mux)
	v, err := vonage.New(vonage.Config{
		Store: s.store, Core: s.core, OAuth: s.oauth, Connection: conn, BaseURL: base, Now: s.now,
		Logger: s.log.With("component", "vonage"), MaxJWTLifetime: s.cfg.Vonage.MaxJWTLifetime.D(),
	})
	if err != nil {
		return err
	}
	v.Mount(mux)
	kc := s.cfg.KPN
	k, err := kpn.New(kpn.Config{
		Store: s.store, Core: s.core, Notifier: s.notifier, Connection: conn, BaseURL: base, Now: s.now,
		Logger: s.log.With("component", "kpn"), Prefix: kc.Prefix,
		Operator: func(number string) kpn.OperatorInfo {
			op := dir.Lookup(number)
			return kpn.OperatorInfo{RegionCode: op.Region, OperatorName: op.Name, MCC: op.MCC, MNC: op.MNC}
		},
		TokenLifetime: kc.TokenLifetime.D(), ResultRetention: kc.ResultRetention.D(),
	})
	if err != nil {
		return err
	}
	k.Mount(mux)
	s.reporters = map[string]reporter{kpn.Dialect: k.Report}
	return nil
}

// origin is the scheme and host of the URL u, without its path.
func origin(u string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("issuer: %w", err)
	}
	return p.Scheme + "://" + p.Host, nil
}

// directory builds the operator directory from the configuration; the
// virtual operator's ranges are always in its table.
func (s *Server) directory() (*directory.Directory, error) {
	dc := s.cfg.Directory
	cfg := directory.Config{Operators: slices.Clone(dc.Operators)}
	if !slices.ContainsFunc(cfg.Operators, func(e directory.Entry) bool {
		return strings.EqualFold(e.Name, directory.VirtualOperator.Name)
	}) {
		cfg.Operators = append(cfg.Operators, directory.VirtualOperator)
	}
	if len(dc.Ported) > 0 {
		cfg.Ported = make(map[string]string, len(dc.Ported))
		for n, op := range dc.Ported {
			cfg.Ported[n] = op
		}
	}
	if dc.PortedFile != "" {
		f, err := os.Open(dc.PortedFile)
		if err != nil {
			return nil, fmt.Errorf("directory.ported_file: %w", err)
		}
		err = directory.ReadPorted(f, &cfg)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("directory.ported_file %s: %w", dc.PortedFile, err)
		}
	}
	return directory.New(cfg)
}

// expireAttempts runs the expiry sweep every sweep interval.
func (s *Server) expireAttempts(ctx context.Context) {
	t := time.NewTicker(s.sweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.expireDue(ctx)
	}
}

// expireDue runs one sweep: it expires open attempts past their deadline,
// then hands every ended attempt still due for a report
// (core.Service.DueReports) to its dialect's reporter. An attempt expired
// here that carries no report mark (started before marks existed, or by
// an older replica) is reported at once, as before. A report that fails
// stays due and is tried again at the next sweep, not within this one.
func (s *Server) expireDue(ctx context.Context) {
	for {
		expired, err := s.core.ExpireDue(ctx, sweepBatch)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("expiring attempts", "error", err)
		}
		for _, a := range expired {
			if a.ReportAt.IsZero() { // a marked one comes with the due reports
				s.report(ctx, a)
			}
		}
		if err != nil || len(expired) < sweepBatch {
			break
		}
	}
	tried := map[string]bool{}
	for {
		due, err := s.core.DueReports(ctx, sweepBatch)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("finding attempts due for a report", "error", err)
			}
			return
		}
		fresh := 0
		for _, a := range due {
			if tried[a.ID] {
				continue // failed in this sweep: next sweep
			}
			tried[a.ID] = true
			fresh++
			s.report(ctx, a)
		}
		if fresh == 0 || len(due) < sweepBatch {
			return
		}
	}
}

// report hands one ended attempt to its dialect's reporter, and logs a
// failure. An attempt of a dialect without a reporter is logged: its mark
// stays, and so does the attempt. A report that cannot be made past the
// attempts' retention is abandoned, but a reporter is always tried first:
// an attempt ends after its deadline (an expiry, a report lost to a
// crash), and with a short retention (attempts.retain: 0) its report would
// otherwise be abandoned before it was ever made.
func (s *Server) report(ctx context.Context, a store.Attempt) {
	report, ok := s.reporters[a.Dialect]
	if !ok {
		if !a.ReportAt.IsZero() && !s.abandonReport(ctx, a, errors.New("its dialect has no reporter")) {
			s.log.Warn("an attempt is due for a report, and its dialect has no reporter", "dialect", a.Dialect, "attempt", a.ID)
		}
		return
	}
	err := report(ctx, a)
	if err == nil || ctx.Err() != nil || s.abandonReport(ctx, a, err) {
		return
	}
	s.log.Warn("reporting an ended attempt failed; retried in a minute", "dialect", a.Dialect, "attempt", a.ID, "error", err)
	if !a.ReportAt.IsZero() {
		// Out of the head of the queue: DueReports answers oldest first,
		// and a page of failing reports must not hide the ones behind.
		if err := s.core.RetryReport(ctx, a.ID, reportRetry); err != nil && ctx.Err() == nil {
			s.log.Warn("postponing a failed report", "attempt", a.ID, "error", err)
		}
	}
}

// abandonReport gives up the report of marked attempt a, which failed with
// err, once it has failed for as long as attempts are kept, and drops what
// the report needed (a number, a token) with it. It reports whether it gave
// up.
func (s *Server) abandonReport(ctx context.Context, a store.Attempt, err error) bool {
	if a.ReportAt.IsZero() || !s.now().After(a.Deadline.Add(s.cfg.Attempts.Retain.D())) {
		return false
	}
	s.log.Error("report abandoned: it kept failing for the attempts' retention", "dialect", a.Dialect, "attempt", a.ID, "error", err)
	if err := s.core.AbandonReport(ctx, a.ID); err != nil && ctx.Err() == nil {
		s.log.Warn("abandoning a report", "attempt", a.ID, "error", err)
	}
	return true
}
