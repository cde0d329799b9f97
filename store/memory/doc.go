// Package memory is the in-memory store.Store: the engine's default store.
//
// Nothing survives the process: use it for tests, examples and hosts that
// need no history across restarts. A cluster of processes needs a shared
// store (store/postgres), since the slot claims that make every scheduled
// slot run exactly once live in the store.
//
// # Retention
//
// A store keeps the newest MaxPerTaskDefault (1,000) records of each task,
// unless WithMaxPerTask says otherwise: a host that never configures
// anything and runs for months holds about a thousand records of each of
// its tasks, not one record per run. The cap is the store's own, enforced
// by every create: no task has to be scheduled or started for it, and no
// host can forget it. (The engine's WithRetention deletes by age, or down
// to fewer records, on any store; it works beside the cap.)
//
// A create that takes its task past the cap evicts the task's oldest
// final records, oldest created first, until the task is back at the cap.
// Pending and running records are never evicted, though they count
// toward the cap, nor is the record being created: a task with more open
// records than the cap keeps them all, and its newest record besides. An
// evicted record's slot claim goes with it, as a deleted one's does. The
// cost is O(1) amortized per create: the oldest record is at the front of
// its task's list, which gives up its front without moving the rest; each
// older pending or running record stepped over costs one look.
//
// 1,000 is ten pages of a default listing per task, and long enough that
// a record outlives its readers: GetExecution (and the engine's Wait, for
// a run that ended before Wait was called) finds a record until a
// thousand newer records of its task have been created, 16 minutes for a
// task that runs every second. A host that starts more runs of one task
// than that and reads each only afterwards (a burst of RunNow calls, then
// a Wait for each) needs a larger cap, or none.
//
// The cap counts records and has no age. A count bounds memory by itself
// (a record takes a fixed size); an age would only trim tasks already
// under it, and the store has no clock of its own: records carry their
// writer's times, a fake clock's in tests. WithMaxPerTask(0) keeps every
// record until DeleteExecutions deletes it: memory then grows with the
// history.
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
// # Layout
//
// Records are kept without pointers, so that the garbage collector never
// scans them: a store holding a million records adds nothing to a GC
// cycle's marking. (A map of *store.Execution, which this replaced, made
// every cycle visit every record: eight strings, three times with their
// location pointers and a slice each; GC marking was a quarter of the CPU
// of recording executions.) A record is a fixed-size struct of about 110
// bytes in chunks of 1,024; its task, root task and node are numbers in a
// table of names, its trigger and state small numbers, its times Unix
// seconds and nanoseconds plus a number in a table of locations (up to
// 255; a time whose location does not fit keeps it aside). Text that is
// usually empty — exit message, error, external ID, skip reason, args —
// is kept in a side map only for the records that have some. A deleted or
// evicted record's slot is reused. The tables of names and locations only grow:
// a host that stores records under ever new task or node names grows them
// without end (the engine's names repeat).
//
// # Cost
//
// Each shard indexes its IDs in two parts: a slice sorted by ID, to which
// an ID above every ID the shard has held is appended with no lookup, and
// a map for the rest. The engine mints UUIDv7 IDs in increasing order and
// creates a fire's records in that order, so a fire appends. (With one map
// of every ID, the conflict check of each create was a cache miss into
// memory the size of the history: the largest single cost of a fire.)
// GetExecution and an update of a final record are a binary search and, on
// a miss, a map lookup, plus one copy of the record; a run's end (an
// update of a pending or running record) finds it in a small map of the
// records that are not final, whose entries stay in the CPU's caches. A
// deleted ID leaves a tombstone in the slice, swept when tombstones are
// half of it. The records are split
// over 32 shards by ID, each with its own lock. Creates, updates and gets
// hold the store's read lock and their record's shard lock (creates also
// an index lock): a run's end waits neither for other runs' ends nor for a
// fire creating a batch of records. (A batch with a record that needs a new
// name or location is stored in two parts: the records before it under the
// read lock, the rest under the write lock.) Everything that reads many records
// (listings, deletions, LastSlots) holds the write lock, and so does a
// create or update that adds a name or location to the tables.
// UpdateExecution overwrites the record in place and allocates nothing
// unless the record has text. CreateExecution also finds the task's index
// (a map by name) and appends to it: each task keeps its record numbers in
// creation order and its slot claims ordered by slot, as slices, so the
// usual create (a newer slot than any) is two appends, and an older slot
// is a binary search and an insert. DeleteExecutions compacts the index of
// each task it touched once.
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
// Memory follows the records held: the cap bounds it (see Retention);
// record slots, the ID index and the task index are reused, not grown,
// as records are evicted and created.
package memory
