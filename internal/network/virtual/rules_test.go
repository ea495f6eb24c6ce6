package virtual

import "testing"

// TestExamplesNotShadowed checks that each entry's example is decided by that
// entry, not by an earlier rule: the catalogue documents what really happens.
func TestExamplesNotShadowed(t *testing.T) {
	for i, r := range rules {
		first := -1
		for j, s := range rules {
			if s.match(r.Example) {
				first = j
				break
			}
		}
		if first != i {
			t.Errorf("example %q of rule %q is decided by rule %d, not %d", r.Example, r.Rule, first, i)
		}
	}
	if last := rules[len(rules)-1]; !last.match("+1234567") || !last.match("") {
		t.Error("the last rule must match every number")
	}
}
