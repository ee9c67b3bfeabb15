//! Attacks on the real `cyberhub` binary, each reproduced as a test: the server runs as its own
//! process (so its memory can be read from /proc), on a loopback port with a fresh SQLite file.

#[path = "../support/database.rs"]
mod database;
#[path = "../support/server.rs"]
mod server;

mod connections;
mod logins;
mod sessions;
mod slow_consumers;
