-- taskmill PostgreSQL schema, version 2: the leases of lock.Locker (see
-- locker.go). Names start with the table prefix placeholder, as in
-- 0001_init.sql.
--
-- One row per key ever granted, kept after release and expiry so that the
-- next grant's token is higher than every earlier one. A lease is live while
-- expires_at is after the database's now(); Release sets expires_at to the
-- time of release. Every time here comes from the database's clock.

CREATE TABLE {prefix}leases (
    key         text        PRIMARY KEY,
    owner       text        NOT NULL,
    token       bigint      NOT NULL CHECK (token > 0),
    acquired_at timestamptz NOT NULL,
    renewed_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);

INSERT INTO {prefix}schema_version (version) VALUES (2);
