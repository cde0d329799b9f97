// Package memory is the in-memory store.Store: the engine's default store.
//
// Nothing survives the process: use it for tests, examples and hosts that
// need no history across restarts. A cluster of processes needs a shared
// store (store/postgres), since the slot claims that make every scheduled
// slot run exactly once live in the store.
//
// # Retention
//
// A store keeps the newest MaxPerTaskDefault records of each task, unless
// WithMaxPerTask says otherwise: a host that never configures anything and
// runs for months holds about MaxPerTaskDefault records of each of its
// tasks, not one record per run. The cap is the store's own, enforced by
// every create: no task has to be scheduled or started for it, and no host
// can forget it. (The engine's WithRetention deletes by age, or down to
// fewer records, on any store; it works beside the cap.)
//
// A create that takes its task past the cap evicts the task's oldest
// final records, oldest created first, until the task is back at the cap.
// Pending and running records are never evicted, though they count
// toward the cap, nor is the record being created: a task with more open
// records than the cap keeps them all, and its newest record besides. An
// evicted record's slot claim goes with it, as a deleted one's does.
// Eviction costs O(1) amortized per create, plus a look at each older
// pending or running record it steps over.
//
// A record outlives its readers while fewer than the cap newer records of
// its task have been created: GetExecution (and the engine's Wait, for a
// run that ended before Wait was called) finds it until then. A host that
// starts more runs of one task than the cap and reads each only afterwards
// (a burst of RunNow calls, then a Wait for each) needs a larger cap, or
// none.
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
// Records live in pointer-free arrays (an arena) that the garbage
// collector never scans, not as *store.Execution in maps: against that
// plain store the arena buys burst throughput, and half the memory and
// none of the collector's marking for a store holding many records
// (figures: bench/README.md, "The memory store: arena or map").
//
// A record is a fixed-size struct; its task, root task and node are
// numbers in a table of names, its trigger and state small numbers, its
// times Unix seconds and nanoseconds plus a number in a table of
// locations. Text that is usually empty (exit message, error, external ID,
// skip reason, args) is kept aside only for the records that have some. A
// deleted or evicted record's place is reused. The tables of names and
// locations only grow: a host that stores records under ever new task or
// node names grows them without end (the engine's names repeat).
//
// The records are split over shards by ID, each with its own lock, so a
// run's end waits neither for other runs' ends nor for a fire creating a
// batch of records; what reads many records (listings, deletions,
// LastSlots) takes the store's write lock. Store's doc gives the lock
// order. ListExecutions and DeleteExecutions scan the records of the
// filter's task (all records without a task filter) and keep the first
// Limit+1 matches in a heap: a page costs what its task's history costs,
// not the whole store's. ListTaskStates (store.StateLister) and LastSlots
// (store.SlotLister) answer for every task in one call.
package memory
