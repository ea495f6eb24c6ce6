// Package storetest is the conformance suite of the store.Store contract.
//
// Every backend's own test calls RunTests with a constructor for a fresh,
// empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.RunTests(t, func(t *testing.T) store.Store {
//			s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "numgate.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite pins down what the interface comments leave open, so that every
// backend behaves the same:
//
//   - Times come back in UTC, equal to what was stored to at least the
//     millisecond (the SQLite and PostgreSQL backends keep microseconds).
//     The zero time round-trips as the zero time.
//   - A nil and an empty slice or map are the same value: either may come
//     back for the other.
//   - A grant or an attempt deadline "expires at" its time: at exactly
//     ExpiresAt a grant is gone. A delivery is leased while now is before
//     LeaseUntil, and due when NextTryAt is at or before now.
//   - ListClients orders by the bytes of the ID, not by a locale.
//   - DueAttempts and ClaimDeliveries return oldest first (ties by ID) and
//     nothing when limit is zero or negative.
//   - EnqueueDelivery always stores the delivery as pending.
//   - Concurrent UpdateAttempt calls all succeed, one after the other; a
//     backend must not hand ErrConflict (or a driver's busy error) to callers
//     for ordinary contention.
package storetest
