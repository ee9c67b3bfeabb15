//! The demo: what `cyberhub serve --demo` adds to an ordinary server so that a newcomer sees the
//! product in the first minute.
//!
//! - [`seed`]: on an empty database, an admin, two members for the visitor (alice, bob), a few
//!   demo members of the club, and three cases;
//! - [`activity`]: the demo members at play: they open cases, sell items and chat at a human pace,
//!   through the same store rules (and so the same outbox) as every member, so the live page moves
//!   on its own.
//!
//! Nothing here runs without `--demo`.

pub mod activity;
pub mod seed;

pub use activity::Pace;
pub use seed::{LOGINS, MEMBERS, seed};
