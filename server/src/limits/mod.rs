//! Abuse limits: how often a client may do something ([`rate`]), shared by every route that needs
//! one, so that each limit is a line of configuration rather than code of its own; and how many
//! connections a client, and the server, may hold open ([`conns`]).

pub mod conns;
pub mod rate;

pub use conns::{Admitted, ConnectionLimits, Full};
pub use rate::{RateLimit, RateRule, RateRules, Refused};

use std::net::IpAddr;

use crate::config::Config;

/// Every rate limit of the server, built once from the configuration.
pub struct Limits {
    /// Login attempts per client address.
    pub login_ip: RateLimit<IpAddr>,
    /// Login attempts per username (lowercased, cut to 64 bytes: the key is the attacker's input).
    pub login_user: RateLimit<String>,
    /// SSE streams opened per client address and per user.
    pub stream_ip: RateLimit<IpAddr>,
    pub stream_user: RateLimit<i64>,
    /// Long-polls per client address and per user.
    pub poll_ip: RateLimit<IpAddr>,
    pub poll_user: RateLimit<i64>,
    /// Case openings, sales and other writes per user.
    pub write_user: RateLimit<i64>,
    /// Chat messages per sender.
    pub chat_send: RateLimit<i64>,
}

impl Limits {
    pub fn new(config: &Config) -> Limits {
        Limits {
            login_ip: RateLimit::new("login_ip", &config.login_rate_ip),
            login_user: RateLimit::new("login_user", &config.login_rate_user),
            stream_ip: RateLimit::new("stream_ip", &config.stream_rate_ip),
            stream_user: RateLimit::new("stream_user", &config.stream_rate_user),
            poll_ip: RateLimit::new("poll_ip", &config.poll_rate_ip),
            poll_user: RateLimit::new("poll_user", &config.poll_rate_user),
            write_user: RateLimit::new("write_user", &config.write_rate_user),
            chat_send: RateLimit::new("chat_send", &config.chat_rate),
        }
    }

    /// Drops the state of keys that are idle again; run now and then so that memory follows the
    /// number of recently active clients, not of every client ever seen.
    pub fn forget_idle(&self) {
        self.login_ip.forget_idle();
        self.login_user.forget_idle();
        self.stream_ip.forget_idle();
        self.stream_user.forget_idle();
        self.poll_ip.forget_idle();
        self.poll_user.forget_idle();
        self.write_user.forget_idle();
        self.chat_send.forget_idle();
    }
}

/// The key a username is limited under: case-insensitive, and bounded in size.
pub fn username_key(name: &str) -> String {
    let mut key = name.trim().to_lowercase();
    if key.len() > 64 {
        let mut cut = 64;
        while !key.is_char_boundary(cut) {
            cut -= 1;
        }
        key.truncate(cut);
    }
    key
}
