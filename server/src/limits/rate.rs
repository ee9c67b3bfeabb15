//! Rate limits by key (a user, an address, a username), on `governor`'s GCRA: each rule is a burst
//! of `count` that refills at `count` per `period`, so "5/10s" admits five at once and then one
//! every two seconds. A limit may hold several rules (5/10s and 30/1m); a request must pass all.
//!
//! Why governor rather than a bucket of our own: it is the maintained, lock-free implementation
//! (one atomic per key), and its keyed state can be trimmed of idle keys, which bounds memory under
//! a flood of distinct keys.

use std::fmt;
use std::hash::Hash;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// One rule: at most a burst of `count`, refilled at `count` per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateRule {
    pub count: NonZeroU32,
    pub period: Duration,
}

impl RateRule {
    fn quota(self) -> Quota {
        let per_cell = (self.period / self.count.get()).max(Duration::from_nanos(1));
        Quota::with_period(per_cell)
            .expect("a nonzero period")
            .allow_burst(self.count)
    }
}

impl fmt::Display for RateRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}s", self.count, self.period.as_secs_f64())
    }
}

impl FromStr for RateRule {
    type Err = String;

    /// `COUNT/PERIOD`, the period a number with a unit: `5/10s`, `30/1m`, `1000/1h`.
    fn from_str(s: &str) -> Result<RateRule, String> {
        let bad = || format!("{s:?} is not a rate like 5/10s, 30/1m or 100/1h");
        let (count, period) = s.trim().split_once('/').ok_or_else(bad)?;
        let count: NonZeroU32 = count.trim().parse().map_err(|_| bad())?;
        let period = period.trim();
        let unit_at = period.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (number, unit) = period.split_at(unit_at);
        let number: u64 = number.parse().map_err(|_| bad())?;
        let seconds = match unit {
            "ms" => return rule(count, Duration::from_millis(number), bad),
            "s" => number,
            "m" => number * 60,
            "h" => number * 3600,
            _ => return Err(bad()),
        };
        rule(count, Duration::from_secs(seconds), bad)
    }
}

fn rule(count: NonZeroU32, period: Duration, bad: impl Fn() -> String) -> Result<RateRule, String> {
    if period.is_zero() {
        return Err(bad());
    }
    Ok(RateRule { count, period })
}

/// A limit's rules, as configured: comma-separated rules (`5/10s,30/1m`), or `off`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateRules(pub Vec<RateRule>);

impl FromStr for RateRules {
    type Err = String;

    fn from_str(s: &str) -> Result<RateRules, String> {
        if s.trim().eq_ignore_ascii_case("off") || s.trim().is_empty() {
            return Ok(RateRules(Vec::new()));
        }
        s.split(',')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map(RateRules)
    }
}

impl fmt::Display for RateRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("off");
        }
        for (i, rule) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{rule}")?;
        }
        Ok(())
    }
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
                .map(|rule| RateLimiter::dashmap(rule.quota()))
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
    fn rules_parse_from_their_written_form() {
        let rules: RateRules = "5/10s, 30/1m,100/1h,3/500ms".parse().unwrap();
        let secs: Vec<(u32, u64)> = rules
            .0
            .iter()
            .map(|r| (r.count.get(), r.period.as_millis() as u64))
            .collect();
        assert_eq!(
            secs,
            [(5, 10_000), (30, 60_000), (100, 3_600_000), (3, 500)]
        );
        assert!("off".parse::<RateRules>().unwrap().0.is_empty());
        for bad in ["5", "0/1s", "5/", "5/10", "5/10d", "x/1s", "5/0s"] {
            assert!(bad.parse::<RateRules>().is_err(), "{bad}");
        }
    }

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
