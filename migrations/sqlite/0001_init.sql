-- CyberHub schema, SQLite flavour. Kept close to what PostgreSQL accepts so a postgres/ twin can follow:
-- integer ids, integer money (minor units), timestamps as Unix milliseconds in BIGINT columns.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('user', 'admin')),
    -- The last line of defence: no code path may leave a balance negative.
    balance       BIGINT  NOT NULL DEFAULT 0 CHECK (balance >= 0),
    created_at    BIGINT  NOT NULL
);

-- Opaque bearer tokens, stored only as SHA-256 hex; logout deletes the row.
CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE cases (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    price      BIGINT  NOT NULL CHECK (price >= 0),
    image_url  TEXT    NOT NULL DEFAULT '',
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);

CREATE TABLE case_items (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id  INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name     TEXT    NOT NULL,
    rarity   TEXT    NOT NULL,
    value    BIGINT  NOT NULL CHECK (value >= 0),
    weight   BIGINT  NOT NULL CHECK (weight > 0)
);
CREATE INDEX case_items_case ON case_items (case_id, position);

-- What a user owns. Name, rarity and value are copied at win time, and case_id is not a foreign key,
-- so editing or deleting a case never changes an inventory.
CREATE TABLE inventory (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    case_id   BIGINT  NOT NULL,
    case_name TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    rarity    TEXT    NOT NULL,
    value     BIGINT  NOT NULL,
    won_at    BIGINT  NOT NULL
);
CREATE INDEX inventory_user ON inventory (user_id, id);

-- The history of openings, kept after the item is sold.
CREATE TABLE openings (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    case_id      BIGINT  NOT NULL,
    case_item_id BIGINT  NOT NULL,
    inventory_id BIGINT  NOT NULL,
    price        BIGINT  NOT NULL,
    item_value   BIGINT  NOT NULL,
    opened_at    BIGINT  NOT NULL
);
CREATE INDEX openings_user ON openings (user_id, id);

-- Every balance change with its reason: the audit trail behind balance:updated.
CREATE TABLE ledger (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    delta         BIGINT  NOT NULL,
    balance_after BIGINT  NOT NULL,
    reason        TEXT    NOT NULL,
    note          TEXT,
    created_at    BIGINT  NOT NULL
);
CREATE INDEX ledger_user ON ledger (user_id, id);

-- Top-ups from the billing system. The payment id is the idempotency key; the stored answer is what a
-- repeated delivery gets back.
CREATE TABLE payments (
    payment_id    TEXT    PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    amount        BIGINT  NOT NULL CHECK (amount > 0),
    balance_after BIGINT  NOT NULL,
    credited_at   BIGINT  NOT NULL
);

-- The transactional outbox. AUTOINCREMENT: an id is never reused, even after pruning, so a client's
-- Last-Event-ID always means the same event. user_id NULL is a global event.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL,
    user_id    BIGINT,
    data       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX events_created ON events (created_at);

-- Outbox bookkeeping: pruned_through is the highest event id retention has deleted; a client resuming
-- from below it has missed events and must resync.
CREATE TABLE outbox_state (
    key   TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO outbox_state (key, value) VALUES ('pruned_through', 0);
