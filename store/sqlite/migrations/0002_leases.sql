-- taskmill SQLite schema, version 2: the leases of lock.Locker (see
-- locker.go).
--
-- One row per key ever granted, kept after release and expiry so that the
-- next grant's token is higher than every earlier one. Times are INTEGER
-- microseconds since the Unix epoch. A lease is live while expires_at is
-- after the current time; Release sets expires_at to the time of release.

CREATE TABLE {prefix}leases (
    key         TEXT    PRIMARY KEY NOT NULL,
    owner       TEXT    NOT NULL,
    token       INTEGER NOT NULL CHECK (token > 0),
    acquired_at INTEGER NOT NULL,
    renewed_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

INSERT INTO {prefix}schema_version (version, name) VALUES (2, '0002_leases');
