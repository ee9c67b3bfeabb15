-- The billing bridge to the club's SmartShell: which member is which SmartShell client, every
-- top-up the bridge has seen (by the id SmartShell gave it, so each is credited once), and the
-- bridge's position in SmartShell's feed.

CREATE TABLE smartshell_links (
    user_id     BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    client_uuid TEXT    NOT NULL UNIQUE,
    linked_at   BIGINT  NOT NULL
);

CREATE TABLE smartshell_payments (
    club_id     BIGINT  NOT NULL,
    payment_id  BIGINT  NOT NULL,
    client_uuid TEXT    NOT NULL,
    -- Kopecks: the payment's top-up items.
    amount      BIGINT  NOT NULL CHECK (amount > 0),
    -- When SmartShell took it, as SmartShell writes it (club-local YYYY-MM-DD HH:MM:SS).
    paid_at     TEXT    NOT NULL,
    seen_at     BIGINT  NOT NULL,
    -- Set when credited; NULL while no member is linked to the client (unmatched).
    user_id     BIGINT REFERENCES users (id) ON DELETE SET NULL,
    credited_at BIGINT,
    -- Set when the bridge sees it refunded in SmartShell; then `reversed` kopecks were taken back
    -- and `shortfall` could not be (the member had spent them).
    refunded_at BIGINT,
    reversed    BIGINT  NOT NULL DEFAULT 0,
    shortfall   BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (club_id, payment_id)
);

CREATE INDEX smartshell_payments_by_client ON smartshell_payments (client_uuid);

-- Small named values of the bridge (the last shift it read).
CREATE TABLE billing_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
