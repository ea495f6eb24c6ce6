package radius

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a packet is rejected (the "reason" label). Unauthenticated
// packets (unknown_client, bad_authenticator, malformed, not_accounting) are
// dropped without an answer; authentic packets that cannot be used are
// acknowledged, because a retransmit could not fix them.
const (
	reasonUnknownClient  = "unknown_client"
	reasonBadAuth        = "bad_authenticator"
	reasonMalformed      = "malformed"
	reasonNotAccounting  = "not_accounting"
	reasonNoStatus       = "missing_status"
	reasonNoSession      = "missing_session"
	reasonNoMSISDN       = "missing_msisdn"
	reasonInvalidMSISDN  = "invalid_msisdn"
	reasonNoAddress      = "missing_address"
	reasonBadAddress     = "bad_address"
	reasonBadNATAttr     = "bad_nat_attribute" // a malformed RFC 8045 attribute
	reasonTableFull      = "table_full"
	reasonLogWriteFailed = "log_write_failed"
)

var allReasons = []string{reasonUnknownClient, reasonBadAuth, reasonMalformed, reasonNotAccounting,
	reasonNoStatus, reasonNoSession, reasonNoMSISDN, reasonInvalidMSISDN, reasonNoAddress,
	reasonBadAddress, reasonBadNATAttr, reasonTableFull, reasonLogWriteFailed}

var allStatuses = []Status{StatusStart, StatusStop, StatusInterimUpdate, StatusAccountingOn, StatusAccountingOff, 0}

// metrics are the feed's Prometheus metrics. Labels are closed sets: no
// number, address or session ever becomes a label.
type metrics struct {
	packets    map[Status]prometheus.Counter
	rejected   map[string]prometheus.Counter
	ignoredIMS prometheus.Counter
	stale      prometheus.Counter
	duplicates prometheus.Counter
	syncs      prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, t *Table) (*metrics, error) {
	packets := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "numgate", Subsystem: "radius", Name: "packets_total",
		Help: "Authentic Accounting-Requests received, by Acct-Status-Type.",
	}, []string{"type"})
	rejected := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "numgate", Subsystem: "radius", Name: "rejected_packets_total",
		Help: "Packets dropped or not applied, by reason.",
	}, []string{"reason"})
	ignored := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "numgate", Subsystem: "radius", Name: "ignored_packets_total",
		Help: "Authentic packets acknowledged without changing a binding: ims_apn (filtered APN), stale (late report of an ended session).",
	}, []string{"reason"})
	dups := prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "numgate", Subsystem: "radius", Name: "duplicate_packets_total",
		Help: "Retransmitted Accounting-Requests (same source, identifier and authenticator), answered again but applied once.",
	})
	syncs := prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "numgate", Subsystem: "radius", Name: "log_sync_seconds",
		Help:    "Duration of write-ahead log group commits (fsync).",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14),
	})
	m := &metrics{
		packets: map[Status]prometheus.Counter{}, rejected: map[string]prometheus.Counter{},
		ignoredIMS: ignored.WithLabelValues("ims_apn"), stale: ignored.WithLabelValues("stale"),
		duplicates: dups, syncs: syncs,
	}
	for _, s := range allStatuses {
		m.packets[s] = packets.WithLabelValues(s.String())
	}
	for _, r := range allReasons {
		m.rejected[r] = rejected.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	gauges := &bindingsCollector{desc: prometheus.NewDesc("numgate_radius_active_bindings",
		"Live bindings by family (ipv4, ipv6 /64, cgnat port blocks).", []string{"family"}, nil), t: t}
	for _, c := range []prometheus.Collector{packets, rejected, ignored, dups, syncs, gauges} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) packet(s Status) {
	c, ok := m.packets[s]
	if !ok {
		c = m.packets[0]
	}
	c.Inc()
}

func (m *metrics) reject(reason string) { m.rejected[reason].Inc() }

// bindingsCollector reads the table's live counters at scrape time.
type bindingsCollector struct {
	desc *prometheus.Desc
	t    *Table
}

func (c *bindingsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *bindingsCollector) Collect(ch chan<- prometheus.Metric) {
	v4, v6, nat := c.t.Counts()
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(v4), "ipv4")
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(v6), "ipv6")
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(nat), "cgnat")
}
