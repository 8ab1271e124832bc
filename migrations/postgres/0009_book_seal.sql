-- The livre de recettes sealed with a key kept outside the database (issue 11).
--
-- Each line written from now on carries an Ed25519 signature of its hash,
-- made with the book's key (a file in the data directory, or one the
-- operator supplies): recomputing the SHA-256 chain after an edit no longer
-- passes `billing verify-book`, since nobody holding only the database can
-- sign. Lines written before this migration keep a NULL signature; the
-- first closure seals them.
ALTER TABLE revenue_book ADD COLUMN signature TEXT;

-- The book's head: its last line's number and hash, signed with the key
-- (a message of its own, "head:<seq>:<hash>", which no line's signature
-- answers). Rewritten at each line: deleting the last lines and putting the
-- counter back would need the head of an earlier state, whose signature the
-- database no longer holds.
CREATE TABLE book_head (
    id        SMALLINT PRIMARY KEY CHECK (id = 1),
    seq       BIGINT NOT NULL,
    hash      TEXT   NOT NULL,
    signature TEXT   NOT NULL
);

-- Closures (clôtures): per day with receipts, per month and per year. Each
-- records the book's last line when it was made (its number and hash), the
-- lines received in its period and their totals (by nature, cash apart),
-- the perpetual grand totals, and is chained to the previous closure and
-- signed with the book's key. Never changed or deleted.
CREATE TABLE book_closures (
    number       BIGINT PRIMARY KEY CHECK (number >= 1),
    kind         TEXT   NOT NULL CHECK (kind IN ('day', 'month', 'year')),
    period_start DATE   NOT NULL,
    period_end   DATE   NOT NULL CHECK (period_end >= period_start),
    book_seq     BIGINT NOT NULL CHECK (book_seq >= 0),
    book_hash    TEXT   NOT NULL,
    line_count   BIGINT NOT NULL CHECK (line_count >= 0),
    -- Canonical JSON, one object per currency: goods, services, cash, other,
    -- total, grand_total, grand_total_abs (minor units).
    totals       TEXT   NOT NULL,
    prev_hash    TEXT   NOT NULL,
    hash         TEXT   NOT NULL,
    signature    TEXT   NOT NULL,
    public_key   TEXT   NOT NULL,
    closed_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (kind, period_start)
);
CREATE INDEX book_closures_end ON book_closures (period_end);
CREATE TRIGGER book_closures_no_change BEFORE UPDATE OR DELETE ON book_closures
    FOR EACH ROW EXECUTE FUNCTION comptoir_refuse_change('closures of the livre de recettes are never changed or deleted');
CREATE TRIGGER book_closures_no_truncate BEFORE TRUNCATE ON book_closures
    FOR EACH STATEMENT EXECUTE FUNCTION comptoir_refuse_change('closures of the livre de recettes are never changed or deleted');

-- The public halves of the keys that signed this book. A process whose key
-- is not listed refuses to start (a second machine with a key of its own
-- would sign lines that the book's key does not verify). Not a trust
-- anchor: `verify-book` checks with the key file, never with this table.
CREATE TABLE book_keys (
    public_key    TEXT PRIMARY KEY,
    registered_at TIMESTAMPTZ NOT NULL
);
