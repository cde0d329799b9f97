package backend

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/internal/quote"
	"github.com/taskmill/taskmill/store"
)

// PageLimit returns the page size a store.ExecutionFilter's Limit asks for:
// store.ListLimitDefault for 0 or less, at most store.MaxListLimit.
func PageLimit(limit int) int {
	switch {
	case limit <= 0:
		return store.ListLimitDefault
	case limit > store.MaxListLimit:
		return store.MaxListLimit
	}
	return limit
}

// Cursor is the position after which a listing continues: the StartedAt and
// ID of the last execution of the previous page.
type Cursor struct {
	StartedAt time.Time
	ID        uuid.UUID
}

// EncodeCursor returns the opaque text form of the position after e. The
// time is written as Unix seconds and nanoseconds ("sec.nnnnnnnnn/id"), so
// that every time.Time round-trips, not only those within UnixNano's range
// (years 1678 to 2262).
func EncodeCursor(e *store.Execution) string {
	raw := fmt.Sprintf("%d.%09d/%s", e.StartedAt.Unix(), e.StartedAt.Nanosecond(), e.ID)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// DecodeCursor parses a cursor made by EncodeCursor, or by its earlier form
// ("unixnano/id"). A malformed cursor is an error wrapping ErrInvalid.
func DecodeCursor(s string) (Cursor, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: cursor %s: %s", store.ErrInvalid, quote.Short(s), why)
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, bad(err.Error())
	}
	at, id, ok := strings.Cut(string(raw), "/")
	if !ok {
		return Cursor{}, bad("no separator")
	}
	var t time.Time
	if secs, nanos, dotted := strings.Cut(at, "."); dotted {
		sec, err := strconv.ParseInt(secs, 10, 64)
		if err != nil {
			return Cursor{}, bad("bad seconds " + quote.Short(secs))
		}
		nsec, err := strconv.ParseUint(nanos, 10, 32)
		if err != nil || len(nanos) != 9 {
			return Cursor{}, bad("bad nanoseconds " + quote.Short(nanos))
		}
		t = time.Unix(sec, int64(nsec))
	} else {
		n, err := strconv.ParseInt(at, 10, 64)
		if err != nil {
			return Cursor{}, bad("bad time " + quote.Short(at))
		}
		t = time.Unix(0, n)
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return Cursor{}, bad("bad execution ID " + quote.Short(id))
	}
	return Cursor{StartedAt: t, ID: u}, nil
}

// After reports whether e comes after the cursor position in the newest-first
// order, that is, whether it belongs to the next page.
func (c Cursor) After(e *store.Execution) bool {
	if !e.StartedAt.Equal(c.StartedAt) {
		return e.StartedAt.Before(c.StartedAt)
	}
	return CompareIDs(e.ID, c.ID) < 0
}

// CompareIDs orders IDs by their bytes, the order backends use as the
// tie-breaker after StartedAt (see store.Newer).
func CompareIDs(a, b uuid.UUID) int {
	return bytes.Compare(a[:], b[:])
}

// CheckCancelID checks the ID given to store.CancelRequester's
// RequestCancel, as every backend does: it is not zero. The error wraps
// store.ErrInvalid.
func CheckCancelID(id uuid.UUID) error {
	if id == uuid.Nil {
		return fmt.Errorf("%w: request cancel: execution ID is zero", store.ErrInvalid)
	}
	return nil
}
