//! Abuse limits: how often a client may do something ([`rate`]), shared by every route that needs
//! one, so that each limit is a line of configuration rather than code of its own.

pub mod rate;

pub use rate::{RateLimit, RateRule, RateRules, Refused};

use crate::config::Config;

/// Every rate limit of the server, built once from the configuration.
pub struct Limits {
    /// Chat messages per sender.
    pub chat_send: RateLimit<i64>,
}

impl Limits {
    pub fn new(config: &Config) -> Limits {
        Limits {
            chat_send: RateLimit::new("chat_send", &config.chat_rate),
        }
    }

    /// Drops the state of keys that are idle again; run now and then so that memory follows the
    /// number of recently active clients, not of every client ever seen.
    pub fn forget_idle(&self) {
        self.chat_send.forget_idle();
    }
}
