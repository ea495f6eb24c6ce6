// Package client is numgate's public Go client: it runs the backend side of
// a Number Verification flow against numgate (or any CAMARA-conformant
// operator), and can also play the device, which is what `numgate verify`
// and tests do.
//
// A backend normally needs four calls: AuthorizeURL (hand the URL to the
// device), ParseCallback (read the code from the redirect the device brings
// back, checking state and iss), Exchange (trade the code for a token) and
// Verify, VerifyHashed (with HashPhoneNumber) or DevicePhoneNumber, whose
// error responses are *APIError. VerifyNumber runs all of it, device
// included, for tools and tests.
package client
