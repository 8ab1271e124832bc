-- Keeping the books (issue 17): see the PostgreSQL migration for the comments.
CREATE TABLE backups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    file_name   TEXT    NOT NULL,
    directory   TEXT    NOT NULL,
    size_bytes  INTEGER NOT NULL CHECK (size_bytes >= 0),
    sha256      TEXT    NOT NULL,
    origin      TEXT    NOT NULL CHECK (origin IN ('command', 'job')),
    created_at  TEXT    NOT NULL
) STRICT;
CREATE INDEX backups_created ON backups (created_at);

CREATE TABLE archives (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    year        INTEGER NOT NULL CHECK (year BETWEEN 1900 AND 9999),
    file_name   TEXT    NOT NULL,
    directory   TEXT    NOT NULL,
    size_bytes  INTEGER NOT NULL CHECK (size_bytes >= 0),
    sha256      TEXT    NOT NULL,
    files       INTEGER NOT NULL CHECK (files >= 0),
    created_at  TEXT    NOT NULL
) STRICT;
CREATE INDEX archives_year ON archives (year, created_at);
