package network_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/numgate/numgate/internal/network"
)

// step is a fake identifier that records whether it was asked.
type step struct {
	id    network.Identity
	err   error
	asked int
}

func (s *step) Identify(context.Context, network.Connection) (network.Identity, error) {
	s.asked++
	return s.id, s.err
}

func answers(number, source string) *step {
	return &step{id: network.Identity{Number: number, Source: source}}
}

func fails(err error) *step { return &step{err: err} }

func TestChain(t *testing.T) {
	wrappedNI := fmt.Errorf("static: no binding: %w", network.ErrNotIdentifiable)
	wrappedUnavail := fmt.Errorf("radius: table stale: %w", network.ErrUnavailable)
	other := errors.New("boom")

	tests := []struct {
		name    string
		steps   []*step
		want    network.Identity
		wantErr error
		// asked[i] is whether steps[i] must have been asked.
		asked []bool
	}{
		{
			name:    "empty chain is not identifiable",
			wantErr: network.ErrNotIdentifiable,
		},
		{
			name:  "single answer",
			steps: []*step{answers("+31612345678", "a")},
			want:  network.Identity{Number: "+31612345678", Source: "a"},
			asked: []bool{true},
		},
		{
			name:  "first answer wins",
			steps: []*step{answers("+31612345678", "a"), answers("+31687654321", "b")},
			want:  network.Identity{Number: "+31612345678", Source: "a"},
			asked: []bool{true, false},
		},
		{
			name:  "not identifiable falls through",
			steps: []*step{fails(network.ErrNotIdentifiable), answers("+31687654321", "b")},
			want:  network.Identity{Number: "+31687654321", Source: "b"},
			asked: []bool{true, true},
		},
		{
			name:  "wrapped not identifiable falls through",
			steps: []*step{fails(wrappedNI), fails(network.ErrNotIdentifiable), answers("+31687654321", "c")},
			want:  network.Identity{Number: "+31687654321", Source: "c"},
			asked: []bool{true, true, true},
		},
		{
			name:    "all not identifiable",
			steps:   []*step{fails(wrappedNI), fails(network.ErrNotIdentifiable)},
			wantErr: network.ErrNotIdentifiable,
			asked:   []bool{true, true},
		},
		{
			name:    "unavailable stops the chain",
			steps:   []*step{fails(wrappedUnavail), answers("+31687654321", "b")},
			wantErr: network.ErrUnavailable,
			asked:   []bool{true, false},
		},
		{
			name:    "not eligible stops the chain after a fall-through",
			steps:   []*step{fails(network.ErrNotIdentifiable), fails(network.ErrNotEligible), answers("+31687654321", "c")},
			wantErr: network.ErrNotEligible,
			asked:   []bool{true, true, false},
		},
		{
			name:    "consent declined stops the chain",
			steps:   []*step{fails(network.ErrConsentDeclined), answers("+31687654321", "b")},
			wantErr: network.ErrConsentDeclined,
			asked:   []bool{true, false},
		},
		{
			name:    "invalid number stops the chain",
			steps:   []*step{fails(network.ErrInvalidNumber), answers("+31687654321", "b")},
			wantErr: network.ErrInvalidNumber,
			asked:   []bool{true, false},
		},
		{
			name:    "unknown error stops the chain and is returned as is",
			steps:   []*step{fails(other), answers("+31687654321", "b")},
			wantErr: other,
			asked:   []bool{true, false},
		},
		{
			name:    "context error stops the chain",
			steps:   []*step{fails(context.DeadlineExceeded), answers("+31687654321", "b")},
			wantErr: context.DeadlineExceeded,
			asked:   []bool{true, false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ch network.Chain
			for _, s := range tt.steps {
				ch = append(ch, s)
			}
			got, err := ch.Identify(t.Context(), network.Connection{})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if got != (network.Identity{}) {
					t.Errorf("identity = %+v on error, want zero", got)
				}
			} else {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				if got != tt.want {
					t.Errorf("identity = %+v, want %+v", got, tt.want)
				}
			}
			for i, s := range tt.steps {
				if want := tt.asked[i]; (s.asked > 0) != want {
					t.Errorf("step %d asked %d times, want asked=%v", i, s.asked, want)
				}
				if s.asked > 1 {
					t.Errorf("step %d asked %d times, want at most once", i, s.asked)
				}
			}
		})
	}
}

func TestChainPassesConnectionAndContext(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(t.Context(), key{}, "v")
	conn := network.Connection{Hint: "+31612345678", Port: 4711}
	var seen []network.Connection
	probe := network.IdentifierFunc(func(ctx context.Context, c network.Connection) (network.Identity, error) {
		if ctx.Value(key{}) != "v" {
			t.Error("context not passed through")
		}
		seen = append(seen, c)
		return network.Identity{}, network.ErrNotIdentifiable
	})
	if _, err := (network.Chain{probe, probe}).Identify(ctx, conn); !errors.Is(err, network.ErrNotIdentifiable) {
		t.Fatalf("err = %v", err)
	}
	if len(seen) != 2 || seen[0].Hint != conn.Hint || seen[1].Port != conn.Port {
		t.Errorf("connections seen = %+v", seen)
	}
}
