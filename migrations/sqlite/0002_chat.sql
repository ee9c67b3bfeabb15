-- The club chat. Messages are kept for good: a moderator's delete marks the row (deleted_at,
-- deleted_by) for audit and hides it from history. username and role are copied at send time.
CREATE TABLE chat_messages (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    username   TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    text       TEXT    NOT NULL,
    sent_at    BIGINT  NOT NULL,
    deleted_at BIGINT,
    deleted_by BIGINT
);
-- The flood guard looks up a sender's recent messages.
CREATE INDEX chat_messages_user ON chat_messages (user_id, sent_at);

-- One row per user who is or was muted; a mute is active while muted_until lies ahead.
CREATE TABLE chat_mutes (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    muted_until BIGINT  NOT NULL,
    reason      TEXT    NOT NULL,
    muted_by    BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL
);

-- GET /v1/drops reads the newest drop:new events without scanning the others.
CREATE INDEX events_kind ON events (kind, id);
