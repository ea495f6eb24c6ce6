package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestQueryPlans checks that the statements run per grant or per page by
// GarbageCollect, and the redemption's read, use an index: a full scan in any of them would make
// collecting N grants cost N²/batch row visits, or hold the writer for a
// scan. Only the first page of expired grants may scan.
func TestQueryPlans(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "numgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := []struct {
		name, query, want string
	}{
		{"expired grants after a key", sqlExpiredGrantsAfter, "SEARCH grants USING PRIMARY KEY"},
		{"delete an expired grant", sqlGCGrant, "SEARCH grants USING PRIMARY KEY"},
		{"delete old attempts", sqlGCAttempts, "SEARCH attempts USING INDEX attempts_deadline"},
		{"delete ended deliveries", sqlGCDeliveries, "SEARCH deliveries USING INDEX deliveries_ended"},
		{"due reports", sqlDueReports, "SEARCH attempts USING INDEX attempts_report_due"},
		{"get an attempt", sqlGetAttempt, "SEARCH attempts USING PRIMARY KEY"},
		{"redeem a grant", sqlRedeemGrant, "SEARCH g USING PRIMARY KEY (kind=? AND key=?); SEARCH a USING PRIMARY KEY (id=?)"},
	}
	for _, tt := range tests {
		rows, err := s.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+tt.query, 1, 2, 3, 4)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if got := strings.Join(plan, "; "); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: plan %q, want %q", tt.name, got, tt.want)
		}
	}
}
