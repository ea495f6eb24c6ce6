package core

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/numgate/numgate/internal/ratelimit"
)

// metrics counts attempts for operators. Labels are the dialect, the
// outcome and the limit: never a number, a client or an attempt id. A nil
// *metrics counts nothing.
type metrics struct {
	started, decided, refused *prometheus.CounterVec
}

// newMetrics registers the attempt counters with reg (nil: none).
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "numgate_attempts_started_total",
			Help: "Verification attempts stored, by dialect.",
		}, []string{"dialect"}),
		decided: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "numgate_attempts_decided_total",
			Help: "Verification attempts the network answered for, by dialect and outcome.",
		}, []string{"dialect", "outcome"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "numgate_attempts_refused_total",
			Help: "Requests to start attempts refused by the rate limits, by dialect and limit (client or number).",
		}, []string{"dialect", "limit"}),
	}
	for _, c := range []prometheus.Collector{m.started, m.decided, m.refused} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) start(dialect string) {
	if m != nil {
		m.started.WithLabelValues(dialect).Inc()
	}
}

func (m *metrics) decide(dialect, outcome string) {
	if m != nil {
		m.decided.WithLabelValues(dialect, outcome).Inc()
	}
}

// refuse counts a refusal err of the rate limits.
func (m *metrics) refuse(dialect string, err error) {
	var e *ratelimit.Error
	if m != nil && errors.As(err, &e) {
		m.refused.WithLabelValues(dialect, e.Scope).Inc()
	}
}
