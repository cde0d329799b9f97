-- taskmill SQLite schema, version 4: the run's final live report
-- (store.Execution.Report), JSON written with the run's end; '' when the
-- job reported nothing.
ALTER TABLE {prefix}executions ADD COLUMN report TEXT NOT NULL DEFAULT '';

INSERT INTO {prefix}schema_version (version, name) VALUES (4, '0004_report');
