//! Rate limits by key (a user, an address, a username), on `governor`'s GCRA: each rule is a burst
//! of `count` that refills at `count` per `period`, so "5/10s" admits five at once and then one
//! every two seconds. A limit may hold several rules (5/10s and 30/1m); a request must pass all.
//!
//! Why governor rather than a bucket of our own: it is the maintained, lock-free implementation
//! (one atomic per key), and its keyed state can be trimmed of idle keys, which bounds memory under
//! a flood of distinct keys.

use std::hash::Hash;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub use crate::config::{RateRule, RateRules};

/// governor's quota for a rule: a burst of `count`, one more every `period / count`.
fn quota(rule: RateRule) -> Quota {
    let per_cell = (rule.period / rule.count.get()).max(Duration::from_nanos(1));
    Quota::with_period(per_cell)
        .expect("a nonzero period")
        .allow_burst(rule.count)
}

/// A refused request: when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub retry_after: Duration,
}

impl Refused {
    /// Whole seconds for a `Retry-After` header, rounded up so a client that waits that long
    /// is admitted.
    pub fn retry_after_secs(&self) -> u64 {
        let d = self.retry_after;
        d.as_secs() + u64::from(d.subsec_nanos() > 0)
    }
}

/// A named limit on keys of type `K`.
pub struct RateLimit<K: Hash + Eq + Clone> {
    name: &'static str,
    limiters: Vec<DefaultKeyedRateLimiter<K>>,
    clock: DefaultClock,
}

impl<K: Hash + Eq + Clone> RateLimit<K> {
    /// A limit named for the metrics (`cyberhub_rate_limited_total{limit=...}`).
    pub fn new(name: &'static str, rules: &RateRules) -> RateLimit<K> {
        RateLimit {
            name,
            limiters: rules
                .0
                .iter()
                .map(|rule| RateLimiter::dashmap(quota(*rule)))
                .collect(),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one request of `key`; refused when any rule is exhausted. A refused request still
    /// uses up the rules it passed: retrying harder does not help.
    pub fn check(&self, key: &K) -> Result<(), Refused> {
        let now = self.clock.now();
        let mut wait: Option<Duration> = None;
        for limiter in &self.limiters {
            if let Err(not_until) = limiter.check_key(key) {
                let w = not_until.wait_time_from(now);
                wait = Some(wait.map_or(w, |longest| longest.max(w)));
            }
        }
        match wait {
            None => Ok(()),
            Some(retry_after) => {
                metrics::counter!("cyberhub_rate_limited_total", "limit" => self.name).increment(1);
                Err(Refused { retry_after })
            }
        }
    }

    /// Forgets keys whose budget is full again, so the state holds only recently active keys.
    pub fn forget_idle(&self) {
        for limiter in &self.limiters {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// How many keys are remembered (for tests and metrics).
    pub fn keys(&self) -> usize {
        self.limiters.iter().map(|l| l.len()).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_next_waits_for_a_refill() {
        let limit = RateLimit::new("test", &"5/10s".parse().unwrap());
        for _ in 0..5 {
            assert!(limit.check(&1).is_ok());
        }
        let refused = limit.check(&1).unwrap_err();
        assert!(refused.retry_after <= Duration::from_secs(2));
        assert!(refused.retry_after > Duration::from_millis(1_500));
        assert_eq!(refused.retry_after_secs(), 2);
        // Another key has a budget of its own.
        assert!(limit.check(&2).is_ok());
    }

    #[test]
    fn every_rule_must_pass_and_the_longest_wait_is_reported() {
        let limit = RateLimit::new("test", &"3/1s,4/1m".parse().unwrap());
        for _ in 0..3 {
            limit.check(&"k").unwrap();
        }
        std::thread::sleep(Duration::from_millis(400));
        limit.check(&"k").unwrap();
        let refused = limit.check(&"k").unwrap_err();
        assert!(refused.retry_after > Duration::from_secs(10), "{refused:?}");
    }

    #[test]
    fn no_rules_admits_everything() {
        let limit = RateLimit::new("test", &RateRules(Vec::new()));
        for _ in 0..1000 {
            assert!(limit.check(&1u8).is_ok());
        }
    }
}
