-- taskmill PostgreSQL schema, version 3: what engines sharing the database
-- rely on beyond the slot claim (store.Execution's Exclusive,
-- CancelRequested and Fence; trigger 'recovery'). Names start with the table
-- prefix placeholder, as in 0001_init.sql.

-- exclusive: set at creation, never updated (store.Execution.Exclusive).
-- cancel_requested: set only by RequestCancel, kept by updates.
-- fence: the fencing token. An identity column: its sequence (owned by the
-- column, so dropped with the table) numbers the rows as they are
-- inserted, and the store's INSERT leaves the column out. nextval never
-- goes back, not after a rollback nor when the newest rows are deleted,
-- and with the sequence's cache of 1 it is shared by every session: a row
-- inserted after another's commit gets a greater fence. Rows that exist
-- now get fences here, in no particular order (PostgreSQL rewrites the
-- table once to fill them in).
ALTER TABLE {prefix}executions
    ADD COLUMN exclusive        boolean NOT NULL DEFAULT false,
    ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false,
    ADD COLUMN fence            bigint  GENERATED ALWAYS AS IDENTITY;

-- Trigger 'recovery' joins the others. 0001_init.sql's CHECK on trigger has
-- the name PostgreSQL chose, {prefix}executions_trigger_check, cut short
-- when the prefix is long: find it by what it checks (the trigger column
-- alone) and drop it, then add the new one under a name of our own.
DO $$
DECLARE
    c name;
BEGIN
    FOR c IN
        SELECT con.conname FROM pg_constraint con
        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
        WHERE con.conrelid = '{prefix}executions'::regclass AND con.contype = 'c'
            AND cardinality(con.conkey) = 1 AND a.attname = 'trigger'
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', '{prefix}executions'::regclass, c);
    END LOOP;
END
$$;
ALTER TABLE {prefix}executions ADD CONSTRAINT {prefix}exec_trigger
    CHECK (trigger IN ('schedule', 'manual', 'dependency', 'catch-up', 'one-shot', 'recovery'));

-- Execution.Exclusive: of a task's exclusive executions, at most one is
-- running and at most one pending, recovery records aside (a queued fire
-- must not cost an abandoned slot its re-run). An INSERT or UPDATE that
-- would make a second fails with unique_violation on one of these, which
-- the store reports as store.ErrBusy, whichever process tries: the slot
-- claim and this check are one statement. Both hold only the few rows that
-- have not ended.
CREATE UNIQUE INDEX {prefix}exec_busy_running
    ON {prefix}executions (task)
    WHERE exclusive AND state = 'running';
CREATE UNIQUE INDEX {prefix}exec_busy_pending
    ON {prefix}executions (task)
    WHERE exclusive AND state = 'pending' AND trigger <> 'recovery';

INSERT INTO {prefix}schema_version (version) VALUES (3);
