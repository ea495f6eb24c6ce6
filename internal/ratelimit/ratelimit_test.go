package ratelimit

import (
	"errors"
	"strconv"
	"testing"
	"time"
)

// clock is a test clock that moves only when told to.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func mustLimit(t *testing.T, s string) Limit {
	t.Helper()
	l, err := ParseLimit(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestParseLimit(t *testing.T) {
	cases := []struct {
		in, want string
		err      bool
	}{
		{"10/s", "10/s", false},
		{"30/m", "30/m", false},
		{"100/h", "100/h", false},
		{"3/h", "3/h", false},
		{"7/m", "7/m", false},
		{"5/10m", "5/10m0s", false},
		{"off", "off", false},
		{"", "off", false},
		{"0/s", "", true},
		{"ten/s", "", true},
		{"10", "", true},
		{"10/fortnight", "", true},
		{"10/-1s", "", true},
	}
	for _, c := range cases {
		got, err := ParseLimit(c.in)
		if (err != nil) != c.err {
			t.Errorf("ParseLimit(%q): error %v, want error %v", c.in, err, c.err)
			continue
		}
		if err == nil && got.String() != c.want {
			t.Errorf("ParseLimit(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// TestPerNumber: a number gets its burst, then is refused with a retry
// time, while another number and the same client go on; the bucket
// refills with time.
func TestPerNumber(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	l := New(Config{PerNumber: mustLimit(t, "3/m"), Now: clk.Now})
	for i := range 3 {
		if err := l.Allow("app", "n1"); err != nil {
			t.Fatalf("event %d: %v", i+1, err)
		}
	}
	err := l.Allow("app", "n1")
	var le *Error
	if !errors.Is(err, ErrLimited) || !errors.As(err, &le) || le.Scope != "number" {
		t.Fatalf("4th event: %v, want the number limit", err)
	}
	if got := RetryAfter(err); got != 20*time.Second {
		t.Errorf("RetryAfter = %v, want 20s (one token of 3/m)", got)
	}
	if err := l.Allow("app", "n2"); err != nil {
		t.Errorf("another number: %v", err)
	}
	if err := l.Allow("app", ""); err != nil {
		t.Errorf("no number: %v", err)
	}
	clk.t = clk.t.Add(20 * time.Second)
	if err := l.Allow("app", "n1"); err != nil {
		t.Errorf("after the refill: %v", err)
	}
}

// TestPerClientRefusalTakesNothing: a refusal by the number's limit does
// not spend the client's token, and the other way round.
func TestPerClientRefusalTakesNothing(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	l := New(Config{PerClient: mustLimit(t, "2/h"), PerNumber: mustLimit(t, "1/h"), Now: clk.Now})
	if err := l.Allow("app", "n1"); err != nil {
		t.Fatal(err)
	}
	for range 5 { // refused by the number: the client keeps its second token
		if err := l.Allow("app", "n1"); err == nil || err.(*Error).Scope != "number" {
			t.Fatalf("repeat of n1: %v, want the number limit", err)
		}
	}
	if err := l.Allow("app", "n2"); err != nil {
		t.Fatalf("client's second token: %v", err)
	}
	err := l.Allow("app", "n3")
	if err == nil || err.(*Error).Scope != "client" {
		t.Fatalf("third number: %v, want the client limit", err)
	}
	if err := l.Allow("other", "n3"); err != nil {
		t.Fatalf("n3 must not have been spent by the refused client: %v", err)
	}
}

func TestUnlimited(t *testing.T) {
	l := New(Config{})
	for i := range 10000 {
		if err := l.Allow("app", "n"+strconv.Itoa(i%3)); err != nil {
			t.Fatal(err)
		}
	}
	if l.clients.size() != 0 || l.numbers.size() != 0 {
		t.Error("no limit must keep no buckets")
	}
	if RetryAfter(errors.New("other")) != 0 {
		t.Error("RetryAfter of another error must be 0")
	}
}

// TestBounded: idle buckets are pruned; a table full of busy buckets lets
// new keys through untracked instead of refusing them.
func TestBounded(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	l := New(Config{PerNumber: mustLimit(t, "2/m"), MaxKeys: 100, Now: clk.Now})
	for i := range 100 {
		if err := l.Allow("app", "n"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Allow("app", "new"); err != nil {
		t.Fatalf("a full table must let a new key through: %v", err)
	}
	if got := l.numbers.size(); got != 100 {
		t.Fatalf("table holds %d buckets, want the bound 100", got)
	}
	clk.t = clk.t.Add(15 * time.Second) // half a token back in each bucket: none full yet
	if err := l.Allow("app", "newer"); err != nil || l.numbers.size() != 100 {
		t.Fatalf("full table of busy buckets: %v, %d buckets; want the new key through and nothing dropped", err, l.numbers.size())
	}
	clk.t = clk.t.Add(45 * time.Second) // every bucket is full again
	if err := l.Allow("app", "n0"); err != nil {
		t.Fatal(err)
	}
	if got := l.numbers.size(); got != 1 {
		t.Errorf("after a minute idle: %d buckets, want 1", got)
	}
}

// TestAllowN: n events are taken at once or not at all; more than a
// bucket holds are refused with a finite retry time, and a refusal by the
// number's bucket leaves the client's untouched.
func TestAllowN(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	l := New(Config{PerClient: mustLimit(t, "4/m"), PerNumber: mustLimit(t, "3/m"), Now: clk.Now})
	if err := l.AllowN("app", "n1", 2); err != nil {
		t.Fatal(err)
	}
	err := l.AllowN("app", "n1", 2) // the number has 1 left
	if !errors.Is(err, ErrLimited) {
		t.Fatalf("2 more with 1 left: %v, want ErrLimited", err)
	}
	if err := l.AllowN("app", "n2", 2); err != nil { // the client still has 2
		t.Fatalf("the refusal took from the client's bucket: %v", err)
	}
	err = l.AllowN("app2", "n3", 5)
	if d := RetryAfter(err); !errors.Is(err, ErrLimited) || d <= 0 || d > time.Minute {
		t.Errorf("more than a bucket holds: %v, retry after %v; want refused, retry within a minute", err, d)
	}
}
