//! API tests: the real server on a loopback port, a real SQLite file, real HTTP.

mod helpers;

mod auth;
mod cases;
mod chat;
mod limits;
mod ops;
mod parsing;
mod stream;
mod topup;
mod wallet;
