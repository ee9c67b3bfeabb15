-- Every session that ends (logout, expiry cleanup, a deleted user's sessions going with it, or an
-- operator's DELETE) leaves a row here, written by the database itself, so every server process
-- on this file learns of it within a second and ends that session's open streams.
CREATE TABLE session_revocations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT    NOT NULL,
    revoked_at BIGINT  NOT NULL
);

CREATE TRIGGER sessions_revoked AFTER DELETE ON sessions
BEGIN
    INSERT INTO session_revocations (token_hash, revoked_at)
    VALUES (old.token_hash, CAST(unixepoch('subsec') * 1000 AS INTEGER));
END;
