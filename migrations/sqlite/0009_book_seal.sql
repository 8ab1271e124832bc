-- The livre de recettes sealed with a key kept outside the database (see
-- the PostgreSQL migration for the comments).
ALTER TABLE revenue_book ADD COLUMN signature TEXT;

CREATE TABLE book_head (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    seq       INTEGER NOT NULL,
    hash      TEXT    NOT NULL,
    signature TEXT    NOT NULL
) STRICT;

CREATE TABLE book_closures (
    number       INTEGER PRIMARY KEY CHECK (number >= 1),
    kind         TEXT    NOT NULL CHECK (kind IN ('day', 'month', 'year')),
    period_start TEXT    NOT NULL,
    period_end   TEXT    NOT NULL CHECK (period_end >= period_start),
    book_seq     INTEGER NOT NULL CHECK (book_seq >= 0),
    book_hash    TEXT    NOT NULL,
    line_count   INTEGER NOT NULL CHECK (line_count >= 0),
    totals       TEXT    NOT NULL,
    prev_hash    TEXT    NOT NULL,
    hash         TEXT    NOT NULL,
    signature    TEXT    NOT NULL,
    public_key   TEXT    NOT NULL,
    closed_at    TEXT    NOT NULL,
    UNIQUE (kind, period_start)
) STRICT;
CREATE INDEX book_closures_end ON book_closures (period_end);
CREATE TRIGGER book_closures_no_update BEFORE UPDATE ON book_closures
BEGIN SELECT RAISE(ABORT, 'closures of the livre de recettes are never changed or deleted'); END;
CREATE TRIGGER book_closures_no_delete BEFORE DELETE ON book_closures
BEGIN SELECT RAISE(ABORT, 'closures of the livre de recettes are never changed or deleted'); END;

CREATE TABLE book_keys (
    public_key    TEXT PRIMARY KEY,
    registered_at TEXT NOT NULL
) STRICT;
