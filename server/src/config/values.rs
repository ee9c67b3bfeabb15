//! The values of settings that are written as text: rate rules (`5/10s,30/1m`), address ranges
//! (`10.0.0.0/8`), the demo's pace (`3s`). The configuration parses them, and the modules that
//! use them (`limits`, `http::client_ip`, `demo`) take them from here, so the dependency runs one
//! way: everything depends on the configuration, the configuration on nothing of the server.

use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;

/// One rule: at most a burst of `count`, refilled at `count` per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateRule {
    pub count: NonZeroU32,
    pub period: Duration,
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

/// An address or a CIDR range, as `CYBERHUB_TRUSTED_PROXIES` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange(pub IpNet);

impl IpRange {
    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d; it is a.b.c.d.
        self.0.contains(&ip.to_canonical())
    }
}

impl FromStr for IpRange {
    type Err = String;

    fn from_str(s: &str) -> Result<IpRange, String> {
        let s = s.trim();
        s.parse::<IpNet>()
            .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
            .map(IpRange)
            .map_err(|_| format!("{s:?} is neither an IP address nor a CIDR range"))
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How often the demo members act: the mean time between two actions of the club as a whole, or
/// off. Parsed from `3s`, `1500ms` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace(pub Option<Duration>);

impl FromStr for Pace {
    type Err = String;

    fn from_str(s: &str) -> Result<Pace, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(Pace(None));
        }
        let bad = || format!("{s:?} is not a pace like 3s, 1500ms or off");
        let (number, millis) = match s.strip_suffix("ms") {
            Some(n) => (n, 1),
            None => (s.strip_suffix('s').ok_or_else(bad)?, 1000),
        };
        let n: u64 = number.trim().parse().map_err(|_| bad())?;
        if n == 0 {
            return Err(bad());
        }
        Ok(Pace(Some(Duration::from_millis(n * millis))))
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
    fn a_pace_is_a_duration_or_off() {
        assert_eq!("3s".parse(), Ok(Pace(Some(Duration::from_secs(3)))));
        assert_eq!(
            "1500ms".parse(),
            Ok(Pace(Some(Duration::from_millis(1500))))
        );
        assert_eq!("OFF".parse(), Ok(Pace(None)));
        for bad in ["", "0s", "3", "fast", "-1s", "1.5s"] {
            assert!(bad.parse::<Pace>().is_err(), "{bad:?} was accepted");
        }
    }
}
