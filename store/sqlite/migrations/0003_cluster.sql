-- taskmill SQLite schema, version 3: what engines sharing the file rely on
-- beyond the slot claim (store.Execution's Exclusive, CancelRequested and
-- Fence; trigger 'recovery').
--
-- The executions table is rebuilt (SQLite's way of changing a table's key:
-- create the new table, copy the rows, drop the old one, rename the new
-- one), so that its rowid is the fence; the indexes of 0001_init.sql are
-- made again as they were. Triggers a host put on the table go with the
-- old one; views on it stay (legacy_alter_table keeps the RENAME from
-- checking them while the table is missing, and is set back after).
PRAGMA legacy_alter_table = ON;

-- fence: the fencing token (store.Execution.Fence), and the rowid: an
-- INTEGER PRIMARY KEY, which VACUUM keeps as it is (other rowids it may
-- renumber), costs no index of its own, and whose greatest value SQLite
-- finds at the end of the table. The store's INSERT sets it to one more
-- than the greatest fence of the executions and of those deleted (see
-- {prefix}fence), in the statement that inserts the row. Writes to the
-- file are serialised by SQLite's lock, so each execution gets a fence
-- greater than every one assigned before, whichever handle or process
-- inserted it. The rows copied keep their rowid as fence: distinct, and in
-- the order they were inserted in, as near as SQLite knows it.
-- id: as before, unique; no longer the PRIMARY KEY, so a duplicate fails
-- as a UNIQUE constraint.
-- exclusive: set at creation, never updated (store.Execution.Exclusive).
-- cancel_requested: set only by RequestCancel, kept by updates.
CREATE TABLE {prefix}executions_v3 (
    fence            INTEGER PRIMARY KEY,
    id               BLOB    NOT NULL UNIQUE,
    task             TEXT    NOT NULL,
    trigger          TEXT    NOT NULL,
    scheduled_at     INTEGER,
    started_at       INTEGER NOT NULL,
    ended_at         INTEGER,
    state            TEXT    NOT NULL,
    exit_code        INTEGER NOT NULL DEFAULT 0,
    exit_message     TEXT    NOT NULL DEFAULT '',
    error            TEXT    NOT NULL DEFAULT '',
    args             TEXT    NOT NULL DEFAULT '[]', -- JSON array of strings
    external_id      TEXT    NOT NULL DEFAULT '',
    parent_id        BLOB,
    graph_run_id     BLOB,
    root_task        TEXT    NOT NULL DEFAULT '',
    node             TEXT    NOT NULL DEFAULT '',
    skip_reason      TEXT    NOT NULL DEFAULT '',
    exclusive        INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0
);
INSERT INTO {prefix}executions_v3 (fence, id, task, trigger, scheduled_at, started_at, ended_at, state,
        exit_code, exit_message, error, args, external_id, parent_id, graph_run_id, root_task, node, skip_reason)
    SELECT rowid, id, task, trigger, scheduled_at, started_at, ended_at, state,
        exit_code, exit_message, error, args, external_id, parent_id, graph_run_id, root_task, node, skip_reason
    FROM {prefix}executions ORDER BY rowid;
DROP TABLE {prefix}executions;
ALTER TABLE {prefix}executions_v3 RENAME TO {prefix}executions;

-- The indexes of 0001_init.sql, as they were (see there).
CREATE UNIQUE INDEX {prefix}executions_claim
    ON {prefix}executions (task, scheduled_at)
    WHERE trigger IN ('schedule', 'catch-up');
CREATE INDEX {prefix}executions_task_started ON {prefix}executions (task, started_at, id);
CREATE INDEX {prefix}executions_started ON {prefix}executions (started_at, id);
CREATE INDEX {prefix}executions_state ON {prefix}executions (state);
CREATE INDEX {prefix}executions_graph_run ON {prefix}executions (graph_run_id)
    WHERE graph_run_id IS NOT NULL;

-- Execution.Exclusive: of a task's exclusive executions, at most one is
-- running and at most one pending, recovery records aside (a queued fire
-- must not cost an abandoned slot its re-run). An INSERT or UPDATE that
-- would make a second fails on one of these indexes, which the store
-- reports as store.ErrBusy; the slot claim and this check are then one
-- statement. Both hold only the few rows that have not ended.
CREATE UNIQUE INDEX {prefix}executions_running_exclusive
    ON {prefix}executions (task)
    WHERE exclusive AND state = 'running';
CREATE UNIQUE INDEX {prefix}executions_pending_exclusive
    ON {prefix}executions (task)
    WHERE exclusive AND state = 'pending' AND trigger <> 'recovery';

-- The greatest fence of the executions deleted, in one row, which the
-- trigger keeps on every DELETE: so the next execution's fence is greater
-- than theirs too, although they are gone (max(rowid) + 1 alone would hand
-- out a deleted newest one's again). A trigger on DELETE rather than a
-- counter that every INSERT bumps: a trigger makes SQLite keep a statement
-- journal (a copy of each page the statement changes) for every INSERT of
-- a group commit, which cost creations a tenth to a half of their rate;
-- deletions are rare, and in batches.
CREATE TABLE {prefix}fence (
    deleted INTEGER NOT NULL
);
INSERT INTO {prefix}fence (deleted) VALUES (0);

CREATE TRIGGER {prefix}executions_deleted AFTER DELETE ON {prefix}executions
BEGIN
    UPDATE {prefix}fence SET deleted = OLD.fence WHERE deleted < OLD.fence;
END;

-- store.Store.DeleteExecutions keeps, in each task's state, the newest
-- slot among the claiming executions it deletes (the state is made if
-- missing), so an engine's catch-up after downtime never depends on history
-- that retention deleted. A trigger, so that rows a host deletes by hand
-- keep their slot too; it adds one upsert per claiming row deleted.
CREATE TRIGGER {prefix}executions_keep_slot AFTER DELETE ON {prefix}executions
WHEN OLD.trigger IN ('schedule', 'catch-up')
BEGIN
    INSERT INTO {prefix}task_state (task, last_scheduled_at) VALUES (OLD.task, OLD.scheduled_at)
    ON CONFLICT (task) DO UPDATE
    SET last_scheduled_at = max(coalesce(last_scheduled_at, excluded.last_scheduled_at), excluded.last_scheduled_at);
END;

PRAGMA legacy_alter_table = OFF;

INSERT INTO {prefix}schema_version (version, name) VALUES (3, '0003_cluster');
