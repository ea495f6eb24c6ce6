package dialectkit

import (
	"fmt"
	"net/url"
	"strings"
)

// CheckBaseURL checks a dialect's Config.BaseURL: numgate's public URL, to
// which the dialect appends paths to make the URLs it hands to devices and
// backends. It must be an http or https URL with a host and without user
// information, query, fragment or trailing slash. The error names
// BaseURL; the dialect adds its own prefix.
func CheckBaseURL(base string) error {
	u, err := url.Parse(base)
	if base == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.ForceQuery || strings.ContainsRune(base, '#') || strings.HasSuffix(base, "/") {
		return fmt.Errorf("the BaseURL %q must be an http(s) URL without trailing slash, user, query or fragment", base)
	}
	return nil
}
