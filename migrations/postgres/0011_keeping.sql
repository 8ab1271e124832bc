-- Keeping the books (issue 17): the backups taken and the yearly archives made.
--
-- A backup is one zip file outside the database (the SQLite snapshot, the
-- book's signing key, the imported files still referenced, and a manifest of
-- their SHA-256). Each success is recorded here, so the dashboard and
-- /readyz say when the last one was taken; the row of a backup is written
-- after its snapshot, so a backup never holds its own row.
CREATE TABLE backups (
    id          BIGSERIAL PRIMARY KEY,
    file_name   TEXT        NOT NULL,
    directory   TEXT        NOT NULL,
    size_bytes  BIGINT      NOT NULL CHECK (size_bytes >= 0),
    sha256      TEXT        NOT NULL,
    origin      TEXT        NOT NULL CHECK (origin IN ('command', 'job')),
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX backups_created ON backups (created_at);

-- A year's archive: one zip file with every invoice and credit note of the
-- year (Factur-X PDF and CII XML), the livre de recettes, the closures, the
-- audit log, and a manifest of the files' SHA-256 signed with the book's key.
-- Made again if its file is lost: every making is kept.
CREATE TABLE archives (
    id          BIGSERIAL PRIMARY KEY,
    year        INTEGER     NOT NULL CHECK (year BETWEEN 1900 AND 9999),
    file_name   TEXT        NOT NULL,
    directory   TEXT        NOT NULL,
    size_bytes  BIGINT      NOT NULL CHECK (size_bytes >= 0),
    sha256      TEXT        NOT NULL,
    files       INTEGER     NOT NULL CHECK (files >= 0),
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX archives_year ON archives (year, created_at);
