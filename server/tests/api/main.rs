//! API tests: the real server on a loopback port, a real SQLite file, real HTTP.

#[path = "../support/database.rs"]
mod database;
mod helpers;
#[path = "../support/sse.rs"]
mod sse;

mod auth;
mod cases;
mod chat;
mod fairness;
mod headers;
mod limits;
mod ops;
mod parsing;
mod raw;
mod stream;
mod topup;
mod wallet;
