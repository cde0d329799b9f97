package backend_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/backend"
)

func TestCursorRoundTrip(t *testing.T) {
	// Times outside UnixNano's range (1678 to 2262) round-trip too.
	for _, at := range []time.Time{
		time.Date(2026, 5, 1, 2, 3, 4, 5000, time.UTC),
		time.Date(1500, 1, 2, 3, 4, 5, 6, time.UTC),
		time.Date(3000, 1, 2, 3, 4, 5, 999999999, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 1, time.UTC),
	} {
		x := &store.Execution{ID: uuid.New(), StartedAt: at}
		c, err := backend.DecodeCursor(backend.EncodeCursor(x))
		if err != nil {
			t.Fatal(err)
		}
		if !c.StartedAt.Equal(x.StartedAt) || c.ID != x.ID {
			t.Errorf("cursor = %+v, want %v %v", c, x.StartedAt, x.ID)
		}
	}
	// A cursor of the earlier form (Unix nanoseconds) still reads.
	id := uuid.New()
	old := base64.RawURLEncoding.EncodeToString([]byte("1777600984000005000/" + id.String()))
	if c, err := backend.DecodeCursor(old); err != nil || !c.StartedAt.Equal(time.Unix(0, 1777600984000005000)) || c.ID != id {
		t.Errorf("DecodeCursor(old form) = %+v, %v", c, err)
	}
	for _, bad := range []string{"", "%%%", "bm9zZXBhcmF0b3I", "eC95",
		base64.RawURLEncoding.EncodeToString([]byte("1.5/" + id.String())),
		base64.RawURLEncoding.EncodeToString([]byte("x.000000005/" + id.String())),
	} {
		if _, err := backend.DecodeCursor(bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("DecodeCursor(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

// TestDecodeCursorLongInput: an error about a malformed cursor of a
// megabyte quotes a bounded prefix of it, whichever part is wrong.
func TestDecodeCursorLongInput(t *testing.T) {
	const n = 3 << 18 // base64 of 786,432 bytes is 1 MiB
	id := uuid.New().String()
	enc := base64.RawURLEncoding.EncodeToString
	for name, c := range map[string]string{
		"not base64":   strings.Repeat("!", 1<<20),
		"no separator": enc([]byte(strings.Repeat("1", n))),
		"bad time":     enc([]byte(strings.Repeat("x", n) + "/" + id)),
		"bad seconds":  enc([]byte(strings.Repeat("x", n) + ".000000005/" + id)),
		"bad nanos":    enc([]byte("1." + strings.Repeat("5", n) + "/" + id)),
		"bad ID":       enc([]byte("1.000000005/" + strings.Repeat("f", n))),
	} {
		_, err := backend.DecodeCursor(c)
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: DecodeCursor = %v, want ErrInvalid", name, err)
			continue
		}
		if msg := err.Error(); len(msg) > 1024 || !strings.Contains(msg, fmt.Sprintf("(%d bytes)", len(c))) {
			t.Errorf("%s: error of %d bytes, want a bounded prefix of the cursor and its length: %.300s", name, len(msg), msg)
		}
	}
}

// DecodeCursor never panics, and a cursor it accepts survives a round trip
// through EncodeCursor.
func FuzzDecodeCursor(f *testing.F) {
	x := &store.Execution{ID: uuid.New(), StartedAt: time.Date(1500, 1, 2, 3, 4, 5, 6, time.UTC)}
	f.Add(backend.EncodeCursor(x))
	f.Add(base64.RawURLEncoding.EncodeToString([]byte("1777600984000005000/" + x.ID.String())))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := backend.DecodeCursor(s)
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("DecodeCursor(%q) = %v, not ErrInvalid", s, err)
			}
			return
		}
		back, err := backend.DecodeCursor(backend.EncodeCursor(&store.Execution{ID: c.ID, StartedAt: c.StartedAt}))
		if err != nil || !back.StartedAt.Equal(c.StartedAt) || back.ID != c.ID {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", s, back, err, c)
		}
	})
}
