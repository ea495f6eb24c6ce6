// Package virtual is numgate's virtual operator: a network.Identifier for
// developers whose answer is chosen by the claimed number itself
// (network.Connection.Hint), so every outcome numgate has can be reached on
// purpose, offline and deterministically.
//
// It reproduces the test-number conventions developers already use, so a test
// suite written against a provider's sandbox runs against numgate unchanged:
//
//   - Vonage Virtual Operator and the tru.ID sandbox, numbers in +990: last
//     two digits 99 → operator unavailable; otherwise last digit even →
//     verified, odd → not verified.
//   - Telefónica's mock mode, any other number: last digit 1 → verified,
//     2 → not verified.
//
// and adds its own range, +999, where the last digit picks any outcome
// (verified, not verified, not identifiable, operator unavailable, slow, not
// eligible, consent declined, invalid number).
//
// "Verified" means the device's number is the claimed number. "Not verified"
// means the device has another valid number, derived from the claimed one by
// flipping the lowest bit of its last digit (…7 → …6, …2 → …3), so that a
// mismatch is reproducible too.
//
// The rules are tried in the order Catalogue lists them; the first that
// matches decides. A connection without a claimed number is not identifiable,
// and a number no rule claims is not eligible: it is not served by the
// virtual operator. Put the virtual operator last in an identification chain
// if real identifiers come before it.
//
// Catalogue exports the rules as data, for `numgate virtual-numbers` and the
// documentation.
package virtual
