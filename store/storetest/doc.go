// Package storetest is the conformance suite every store.Store backend runs.
//
// A backend's test calls Run with a factory that returns a fresh, empty
// store for each subtest and registers its own cleanup:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s := memory.New()
//			t.Cleanup(func() {
//				if err := s.Close(); err != nil {
//					t.Errorf("Close: %v", err)
//				}
//			})
//			return s
//		})
//	}
//
// Subtests run in parallel, each on its own store, so the factory must be
// safe to call from several goroutines (a SQL backend gives each store its
// own schema, table prefix or database file). Run the suite with -race.
//
// # What the suite requires
//
// Beyond what the store.Store docs say, the suite pins down these choices,
// which every backend must make the same way:
//
//   - Times round-trip to the microsecond (PostgreSQL keeps no more). The
//     suite creates records with microsecond times and compares instants with
//     time.Time.Equal, so a backend may return another location (UTC) and
//     drop the monotonic reading. Zero times (EndedAt, ScheduledAt,
//     SuspendedAt, ...) come back zero.
//   - Text and times are stored exactly or refused: text that is not valid
//     UTF-8 or holds a NUL byte, and a non-zero time outside the years 1 to
//     9999 UTC, make CreateExecution, UpdateExecution and PutTaskState
//     return an error wrapping ErrInvalid and store nothing (store.TextOK,
//     store.TimeOK). Args keeps its length and order, empty strings
//     included; a nil and an empty Args are the same record, and a backend
//     may return either.
//   - UpdateExecution ignores e.Task, e.Trigger and e.ScheduledAt: it keeps
//     the stored ones, then validates the merged record (ErrInvalid for a
//     bad state or a zero StartedAt). So the claim of a slot never moves.
//   - ListExecutions returns a NextCursor only when more rows follow (fetch
//     Limit+1 rows): a full last page has an empty NextCursor, and a page
//     with a NextCursor is full. A cursor is a position, not a record: it
//     keeps working when its record is deleted and ignores rows inserted
//     before it (newer ones).
//   - DeleteExecutions deletes StartedAt < Before (exclusive), oldest first
//     when Limit caps it, and frees the slot claims of what it deleted (as
//     deleting a row under a unique index does). A negative Limit is
//     ErrInvalid, as is a zero Before.
//   - Close is idempotent: the second Close returns nil. Every other method
//     returns an error wrapping ErrClosed after Close.
//   - A method called with a context that is already cancelled returns an
//     error wrapping context.Canceled and has no effect.
//
// The subtest that checks MaxListLimit inserts more than 10,000 records; it
// is skipped with -short.
package storetest
