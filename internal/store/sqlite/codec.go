package sqlite

import (
	"database/sql"
	"encoding/json"
	"time"
)

// unixMicro is how a time is stored: microseconds since the Unix epoch. Every
// time.Time in years 1 to 9999, the zero time included, fits.
func unixMicro(t time.Time) int64 { return t.UnixMicro() }

// fromMicro is the inverse of unixMicro, in UTC.
func fromMicro(us int64) time.Time { return time.UnixMicro(us).UTC() }

// optMicro stores an optional time: NULL for the zero time, else as
// unixMicro.
func optMicro(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return unixMicro(t)
}

// fromOptMicro is the inverse of optMicro.
func fromOptMicro(us sql.NullInt64) time.Time {
	if !us.Valid {
		return time.Time{}
	}
	return fromMicro(us.Int64)
}

// blob stores an empty byte slice as NULL.
func blob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// nonEmpty returns nil for an empty slice, so that nil and empty read back alike.
func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// jsonList encodes a list of strings as JSON text, or NULL when it is empty.
func jsonList(l []string) (any, error) {
	if len(l) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// jsonMap encodes a header map as JSON text, or NULL when it is empty.
func jsonMap(m map[string]string) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// decodeJSON decodes JSON text into v unless it is NULL or empty.
func decodeJSON(b []byte, v any) error {
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, v)
}
