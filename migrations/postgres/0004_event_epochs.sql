-- The histories of the events table across failovers (store/history.rs): one row per PostgreSQL
-- timeline the nodes have written under. A row's ids strictly between fork_after and boundary
-- belong to no history this database has (the old primary's unreplicated commits); the first row
-- (fork_after = boundary = 0) marks the history the table began with.
CREATE TABLE event_epochs (
    timeline    BIGINT NOT NULL,
    fork_after  BIGINT NOT NULL,
    boundary    BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (boundary, timeline)
);
