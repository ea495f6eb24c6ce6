package tutorial

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Login is the client's first step: it asks the backend to start a
// verification of phone and returns the auth_url to open.
func Login(ctx context.Context, hc *http.Client, backendURL, phone string) (string, error) {
	body, _ := json.Marshal(LoginRequest{Phone: phone})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(backendURL, "/")+"/login", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("login: HTTP %d: %s", resp.StatusCode, answerError(data))
	}
	var lr LoginResponse
	if err := json.Unmarshal(data, &lr); err != nil || lr.AuthURL == "" {
		return "", errors.New("login: the answer has no auth_url")
	}
	return lr.AuthURL, nil
}

// Auth is the client's second step, what the device does: it opens the
// auth_url over its mobile data connection and follows the redirects to the
// backend's callback, whose answer is the verification's result.
//
// It returns the result; a callback that reports no result (for example
// the operator could not identify the device) is a *ResultError.
func Auth(ctx context.Context, hc *http.Client, authURL string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return false, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var res Result
	if err := json.Unmarshal(data, &res); err != nil {
		return false, fmt.Errorf("auth: HTTP %d with a body that is not the backend's result", resp.StatusCode)
	}
	if res.DevicePhoneNumberVerified == nil {
		return false, &ResultError{Status: resp.StatusCode, Code: res.Error, Description: res.ErrorDescription}
	}
	return *res.DevicePhoneNumberVerified, nil
}

// ResultError is a verification that ended without a result.
type ResultError struct {
	// Status is the HTTP status of the backend's answer.
	Status int
	// Code and Description are the answer's error and error_description.
	Code        string
	Description string
}

// Error implements error.
func (e *ResultError) Error() string {
	return fmt.Sprintf("no verification result (HTTP %d): %s: %s", e.Status, e.Code, e.Description)
}

// answerError renders an error answer of the backend.
func answerError(data []byte) string {
	var res Result
	if json.Unmarshal(data, &res) == nil && res.Error != "" {
		return res.Error + ": " + res.ErrorDescription
	}
	return strings.TrimSpace(string(data))
}
