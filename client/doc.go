// Package client is numgate's public Go client: it runs the backend side of
// a Number Verification flow against numgate (or any CAMARA-conformant
// operator), and can also play the device, which is what `numgate verify`
// and tests do.
//
// A backend normally needs three calls: AuthorizeURL (hand the URL to the
// device), Exchange (trade the code the device brings back for a token) and
// Verify or DevicePhoneNumber. VerifyNumber runs all of it, device included,
// for tools and tests.
package client
