package notify

import (
	"math"
	"net/http"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	n := &Notifier{cfg: Config{BaseDelay: time.Second, MaxDelay: time.Minute, Jitter: func(d time.Duration) time.Duration { return d }}}
	cases := []struct {
		tries      int
		retryAfter time.Duration
		want       time.Duration
	}{
		{1, 0, time.Second},
		{2, 0, 2 * time.Second},
		{3, 0, 4 * time.Second},
		{6, 0, 32 * time.Second},
		{7, 0, time.Minute}, // 64 s capped
		{40, 0, time.Minute},
		{70, 0, time.Minute}, // no overflow
		{1000, 0, time.Minute},
		{1, 10 * time.Second, 10 * time.Second}, // Retry-After wins when longer
		{3, time.Second, 4 * time.Second},       // ... and not when shorter
		{1, time.Hour, time.Minute},             // ... capped at MaxDelay
		{1, math.MaxInt64, time.Minute},         // ... also a saturated one
	}
	for _, c := range cases {
		if got := n.backoff(c.tries, c.retryAfter); got != c.want {
			t.Errorf("backoff(%d, %v) = %v, want %v", c.tries, c.retryAfter, got, c.want)
		}
	}
}

func TestEqualJitter(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 2, time.Second, 10 * time.Minute} {
		for range 200 {
			if got := equalJitter(d); got < d/2 || got > d {
				t.Fatalf("equalJitter(%v) = %v, want within [d/2, d]", d, got)
			}
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"":     0,
		"120":  2 * time.Minute,
		"0":    0,
		"-5":   0,
		"soon": 0,
		// Huge delta-seconds saturate (backoff caps them at MaxDelay)
		// instead of overflowing into a negative or tiny wait.
		"9223372037":           math.MaxInt64, // first value past the overflow
		"10000000000":          math.MaxInt64,
		"18446744074":          math.MaxInt64, // wrapped to 0.29 s
		"99999999999999999999": math.MaxInt64, // beyond int64
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
	}
	for v, want := range cases {
		if got := retryAfter(v, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}
