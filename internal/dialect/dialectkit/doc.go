// Package dialectkit holds the configuration logic that the provider
// dialects (dqe, kpn, vonage) share to the letter: the check of the public
// base URL their device and callback URLs are built on. (Their default
// device connection, shared with the OAuth server, is
// network.PeerConnection.)
//
// It is deliberately small. What a dialect answers (its error shape), what
// it logs and how it wraps its endpoints stay in the dialect, however alike
// they look.
package dialectkit
