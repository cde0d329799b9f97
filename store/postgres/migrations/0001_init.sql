-- taskmill PostgreSQL schema, version 1.
--
-- Every table, index and constraint name below starts with the table prefix
-- placeholder (the word "prefix" in braces). The store substitutes the
-- lower-cased prefix it was given (default taskmill_) before it runs this
-- file; a host that applies the file with its own tooling substitutes it the
-- same way, or uses postgres.Migrations, which returns the text substituted.
-- Names are unquoted, so they live in lower case in the catalog. Tables go
-- into the first schema of the search_path (the store sets the search_path
-- to the WithSchema schema while it migrates).
--
-- The last statement records the version; the store reads the highest
-- version recorded to decide which files still need to run.

CREATE TABLE {prefix}schema_version (
    version    integer     PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- One row per store.Execution. Zero times and uuid.Nil are NULL; the text
-- columns hold "" for empty strings; args is a JSON array of strings.
CREATE TABLE {prefix}executions (
    id           uuid        PRIMARY KEY,
    task         text        NOT NULL,
    trigger      text        NOT NULL
        CHECK (trigger IN ('schedule', 'manual', 'dependency', 'catch-up', 'one-shot')),
    scheduled_at timestamptz NULL,
    started_at   timestamptz NOT NULL,
    ended_at     timestamptz NULL,
    state        text        NOT NULL
        CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled', 'abandoned')),
    exit_code    bigint      NOT NULL DEFAULT 0,
    exit_message text        NOT NULL DEFAULT '',
    error        text        NOT NULL DEFAULT '',
    args         jsonb       NOT NULL DEFAULT '[]'::jsonb
        CHECK (jsonb_typeof(args) = 'array'),
    external_id  text        NOT NULL DEFAULT '',
    parent_id    uuid        NULL,
    graph_run_id uuid        NULL,
    root_task    text        NOT NULL DEFAULT '',
    node         text        NOT NULL DEFAULT '',
    skip_reason  text        NOT NULL DEFAULT '',
    CHECK (trigger NOT IN ('schedule', 'catch-up') OR scheduled_at IS NOT NULL)
);

-- The claim of a scheduled slot: at most one schedule or catch-up execution
-- per task and nominal time. Inserting a second one fails with
-- unique_violation, whichever process tries; deleting the row frees the slot.
CREATE UNIQUE INDEX {prefix}exec_claim
    ON {prefix}executions (task, scheduled_at)
    WHERE trigger IN ('schedule', 'catch-up');

-- History listings, newest first, keyset-paged on (started_at, id): by task,
-- and over every task. Oldest-first deletion scans the same indexes backward.
CREATE INDEX {prefix}exec_task_time
    ON {prefix}executions (task, started_at DESC, id DESC);
CREATE INDEX {prefix}exec_time
    ON {prefix}executions (started_at DESC, id DESC);

-- Executions that have not ended (few, looked up by engines that look for
-- abandoned runs).
CREATE INDEX {prefix}exec_active
    ON {prefix}executions (state, started_at)
    WHERE state IN ('pending', 'running');

-- The executions of one graph run.
CREATE INDEX {prefix}exec_graph_run
    ON {prefix}executions (graph_run_id, started_at DESC, id DESC)
    WHERE graph_run_id IS NOT NULL;

-- One row per store.TaskState. Zero times are NULL.
CREATE TABLE {prefix}task_state (
    task                 text        PRIMARY KEY,
    suspended            boolean     NOT NULL DEFAULT false,
    suspended_reason     text        NOT NULL DEFAULT '',
    suspended_at         timestamptz NULL,
    consecutive_failures bigint      NOT NULL DEFAULT 0,
    last_scheduled_at    timestamptz NULL,
    updated_at           timestamptz NULL
);

INSERT INTO {prefix}schema_version (version) VALUES (1);
