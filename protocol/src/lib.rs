//! Every type that crosses CyberHub's wire, in one place.
//!
//! The server serializes these, the Rust SDK deserializes them, and `ts-rs` generates the TypeScript
//! types of the web SDK from them (`cargo test -p cyberhub-protocol` writes `sdk-ts/src/generated/`).
//! Money is always an integer count of minor units (kopecks); timestamps are Unix milliseconds.

mod billing;
mod chat;
mod error_code;
mod events;
pub mod fairness;
mod rest;

pub use billing::*;
pub use chat::*;
pub use error_code::ErrorCode;
pub use events::*;
pub use fairness::{
    ClientSeedRequest, FairDraw, Fairness, Opening, OpeningList, RevealedSeed, SeedRotation,
    Verification,
};
pub use rest::*;
