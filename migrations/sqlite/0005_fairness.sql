-- Provably fair openings: each member's seed pairs, and what each opening was drawn from.

CREATE TABLE fairness_pairs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The server seed sealed (ChaCha20-Poly1305 under the fairness key, which is kept outside the
    -- database): a dump alone does not reveal a seed before its pair ends.
    sealed_seed      TEXT    NOT NULL,
    server_seed_hash TEXT    NOT NULL,
    client_seed      TEXT    NOT NULL,
    -- The nonce of the next opening under the pair.
    next_nonce       BIGINT  NOT NULL DEFAULT 0,
    created_at       BIGINT  NOT NULL,
    -- Set when the pair ends: the seed in the open.
    revealed_seed    TEXT,
    revealed_at      BIGINT
);
-- One current pair per member.
CREATE UNIQUE INDEX fairness_pairs_current ON fairness_pairs (user_id) WHERE revealed_at IS NULL;

-- An opening's draw: the pair and nonce, and the case's items and weights at that moment (JSON),
-- so an admin's later edit of the case cannot change a past verification. NULL for openings made
-- before openings were provably fair.
ALTER TABLE openings ADD COLUMN pair_id BIGINT;
ALTER TABLE openings ADD COLUMN nonce BIGINT;
ALTER TABLE openings ADD COLUMN case_name TEXT;
ALTER TABLE openings ADD COLUMN items TEXT;

-- Events written now and published later (a drop, after the opener's roulette has run): moved
-- into the outbox when due, in one transaction, so each gets its id at publication (ids stay in
-- order on every stream) and is published once, after a restart too.
CREATE TABLE scheduled_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    due_at     BIGINT  NOT NULL,
    kind       TEXT    NOT NULL,
    user_id    BIGINT,
    data       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX scheduled_events_due ON scheduled_events (due_at);

-- Settings the nodes of one database must agree on (the fairness key's check value).
CREATE TABLE server_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
