-- taskmill SQLite schema, version 1.
--
-- {prefix} stands for the table prefix (WithTablePrefix; default
-- "taskmill_"). A host that manages its own schema (WithoutMigrations)
-- replaces every {prefix} with its prefix and applies the files in order,
-- each in one transaction; each file records its version in
-- {prefix}schema_version, which the store checks at open.
--
-- Times are INTEGER microseconds since the Unix epoch, NULL for a zero
-- time. IDs are 16-byte BLOBs (the UUID's bytes), NULL for a missing parent
-- or graph run: BLOBs compare with memcmp, the order backend.CompareIDs uses.

CREATE TABLE {prefix}schema_version (
    version    INTEGER PRIMARY KEY NOT NULL,
    name       TEXT    NOT NULL,
    applied_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE {prefix}executions (
    id           BLOB    PRIMARY KEY NOT NULL,
    task         TEXT    NOT NULL,
    trigger      TEXT    NOT NULL,
    scheduled_at INTEGER,
    started_at   INTEGER NOT NULL,
    ended_at     INTEGER,
    state        TEXT    NOT NULL,
    exit_code    INTEGER NOT NULL DEFAULT 0,
    exit_message TEXT    NOT NULL DEFAULT '',
    error        TEXT    NOT NULL DEFAULT '',
    args         TEXT    NOT NULL DEFAULT '[]', -- JSON array of strings
    external_id  TEXT    NOT NULL DEFAULT '',
    parent_id    BLOB,
    graph_run_id BLOB,
    root_task    TEXT    NOT NULL DEFAULT '',
    node         TEXT    NOT NULL DEFAULT '',
    skip_reason  TEXT    NOT NULL DEFAULT ''
);

-- The slot claim: one execution per task and nominal time among the
-- triggers that claim (store.Trigger.Claims). A second claim fails the
-- INSERT with a unique violation, which the store reports as
-- store.ErrConflict.
CREATE UNIQUE INDEX {prefix}executions_claim
    ON {prefix}executions (task, scheduled_at)
    WHERE trigger IN ('schedule', 'catch-up');

-- History queries: newest first by task or overall, by state, by graph run.
CREATE INDEX {prefix}executions_task_started ON {prefix}executions (task, started_at, id);
CREATE INDEX {prefix}executions_started ON {prefix}executions (started_at, id);
CREATE INDEX {prefix}executions_state ON {prefix}executions (state);
CREATE INDEX {prefix}executions_graph_run ON {prefix}executions (graph_run_id)
    WHERE graph_run_id IS NOT NULL;

CREATE TABLE {prefix}task_state (
    task                 TEXT    PRIMARY KEY NOT NULL,
    suspended            INTEGER NOT NULL DEFAULT 0,
    suspended_reason     TEXT    NOT NULL DEFAULT '',
    suspended_at         INTEGER,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_scheduled_at    INTEGER,
    updated_at           INTEGER
);

INSERT INTO {prefix}schema_version (version, name) VALUES (1, '0001_init');
