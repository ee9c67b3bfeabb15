-- One row the writer rewrites after the storage refused a write (a full disk, a read-only file
-- system), to find out when it takes writes again without waiting for a member's write.
CREATE TABLE store_probe (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    probed_at INTEGER NOT NULL
);
