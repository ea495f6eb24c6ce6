package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// validateResponse checks a response against the operation's definition in
// doc (status, headers, body schema).
func validateResponse(doc *openapi3.T, method, path string, req *http.Request, status int, h http.Header, body []byte) error {
	item := doc.Paths.Find(path)
	if item == nil {
		return fmt.Errorf("openapi: no path %s", path)
	}
	op := item.GetOperation(method)
	if op == nil {
		return fmt.Errorf("openapi: no %s %s", method, path)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req,
			Route:   &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op},
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  status,
		Header:  h,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("response %d %s does not conform to the API definition: %w", status, body, err)
	}
	return nil
}
