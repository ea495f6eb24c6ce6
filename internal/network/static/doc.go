// Package static identifies devices from a file of fixed bindings, for labs
// and tests on a real network.
//
// The file has one binding per line, an address and a number separated by
// white space:
//
//	# lab phones
//	10.64.0.17          +31612345678   # Alice's test phone
//	10.64.1.0/24        +31687654321
//	2001:db8:aa::/56    +31611112222
//
// ADDRESS is an IPv4 or IPv6 address, or a CIDR prefix (without host bits
// set); NUMBER is in E.164. '#' starts a comment, whole-line or trailing;
// blank lines are ignored. The most specific prefix containing the device's
// address wins; an address without a prefix length is a /32 or /128.
//
// Errors name the file and line and say what is wrong, but never repeat a
// field: a phone number must not reach a log line, even from a typo.
//
// Table is one parsed file. File follows a file on disk: Run polls it and
// swaps in the new bindings when it changes; a file that no longer parses is
// logged and the previous bindings stay in force.
package static
