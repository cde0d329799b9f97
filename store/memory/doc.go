// Package memory is the in-memory store.Store: the engine's default store.
//
// Nothing survives the process: use it for tests, examples and hosts that
// need no history across restarts. A cluster of processes needs a shared
// store (store/postgres), since the slot claims that make every scheduled
// slot run exactly once live in the store.
//
// # Behaviour
//
// A Store is safe for concurrent use. It passes storetest.Run, which pins
// down the details: a slot claim is held by the execution as long as it is
// stored, UpdateExecution keeps the stored task, trigger and scheduled time,
// a NextCursor is returned only when more rows follow, and Close is
// idempotent. Records are copied on the way in and out, so callers never
// share memory with the store. Times are kept with their location but
// without their monotonic clock reading, so that records and cursors are
// all ordered by wall clock.
//
// # Cost
//
// CreateExecution, UpdateExecution and GetExecution are one lookup in a map
// by ID plus one copy of the record. The records are split over 32 shards
// by ID: UpdateExecution and GetExecution hold the store's read lock and
// their shard's lock, so run ends do not queue behind each other, while
// CreateExecution and everything that reads many records (listings,
// deletions, LastSlots) hold the write lock. UpdateExecution overwrites the
// stored record in place and allocates only when Args outgrows the stored
// one. CreateExecution also
// finds the task's index (a map by name) and appends to it: each task keeps
// its records in creation order and its slot claims ordered by slot, as
// slices, so the usual create (a newer slot than any) is two appends, and
// an older slot is a binary search and an insert. Nested maps, which this
// replaced, cost about twice as much per create on histories of 100,000
// records (see the bench directory's README). DeleteExecutions compacts
// the index of each task it touched once.
//
// ListExecutions scans the executions of the filter's task (an index by task
// name), or every execution without a task filter, under the write lock, and
// keeps the first Limit+1 matches in a heap: O(n log k) for n scanned and a
// page of k, and only the page is copied. DeleteExecutions scans the same
// way. A listing with a task filter therefore costs
// what that task's history costs, not the whole table's. A structure
// ordered by (StartedAt, ID), per task and overall (a B-tree), would make a
// page O(k + log n); it is not worth its cost on every insert until
// listings get hot.
//
// ListTaskStates (store.StateLister) copies every task state under the read
// lock, in one call: an engine starting many tasks does not make one
// GetTaskState, and one ErrNotFound error, per task without a state.
// LastSlots (store.SlotLister) reads the last claim of every task, the
// claims being ordered by slot: an engine plans catch-up at Start without a
// ListExecutions per task.
//
// Memory grows with the history until DeleteExecutions trims it.
package memory
