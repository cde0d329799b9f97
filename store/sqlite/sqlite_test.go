package sqlite_test

import (
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/sqlite"
	"github.com/taskmill/taskmill/store/storetest"
)

// Every Store closes its connections, and with them database/sql's
// goroutines.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// open opens a Store on path and closes it when the test ends.
func open(t testing.TB, path string, opts ...sqlite.Option) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "taskmill.db"))
	})
}

func TestStorePersistent(t *testing.T) {
	storetest.RunPersistent(t, func(t *testing.T) func() store.Store {
		path := filepath.Join(t.TempDir(), "taskmill.db")
		return func() store.Store {
			s, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatalf("Open(%q): %v", path, err)
			}
			return s
		}
	})
}
