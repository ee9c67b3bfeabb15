//! Reconnect delays: exponential backoff with full jitter ("Exponential Backoff and Jitter", AWS
//! architecture blog) on top of the server's `retry:` advice, so that a restart does not bring every
//! client back in the same instant. The same formula as the TypeScript SDK's `reconnectDelay`.

use std::time::Duration;

/// Bounds of the random share of a reconnect delay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first attempt's random share (default 1 s).
    pub base: Duration,
    /// The largest random share, however many attempts failed (default 30 s).
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The ceiling of the random share for attempt `attempt` (0 for the first):
    /// `min(cap, base × 2^attempt)`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.min(30);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The delay before reconnect attempt `attempt`: `floor` (the server's `retry:` advice, or a
    /// `Retry-After`) plus a uniformly random share of [`Backoff::ceiling`].
    pub fn delay(&self, attempt: u32, floor: Duration) -> Duration {
        self.delay_with(attempt, floor, rand::random::<f64>())
    }

    /// [`Backoff::delay`] with the random draw given (`random` in `[0, 1)`), for tests.
    pub fn delay_with(&self, attempt: u32, floor: Duration, random: f64) -> Duration {
        let share = self.ceiling(attempt).mul_f64(random.clamp(0.0, 1.0));
        // Whole milliseconds, as the TypeScript SDK draws them.
        floor + Duration::from_millis(share.as_millis() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn the_ceiling_doubles_up_to_the_cap() {
        let b = Backoff::default();
        assert_eq!(b.ceiling(0), MS(1000));
        assert_eq!(b.ceiling(1), MS(2000));
        assert_eq!(b.ceiling(4), MS(16_000));
        assert_eq!(b.ceiling(5), MS(30_000));
        assert_eq!(
            b.ceiling(1000),
            MS(30_000),
            "no overflow however many attempts"
        );
    }

    #[test]
    fn the_floor_is_always_kept_and_the_share_spans_the_ceiling() {
        let b = Backoff {
            base: MS(200),
            cap: MS(2000),
        };
        assert_eq!(b.delay_with(0, MS(200), 0.0), MS(200));
        assert_eq!(b.delay_with(0, MS(200), 0.999_999), MS(399));
        assert_eq!(b.delay_with(3, MS(0), 0.5), MS(800));
        assert_eq!(b.delay_with(9, MS(1500), 0.5), MS(2500));
    }

    #[test]
    fn random_draws_are_full_jitter_within_bounds() {
        let b = Backoff::default();
        let floor = MS(300);
        let draws: Vec<Duration> = (0..2000).map(|_| b.delay(2, floor)).collect();
        assert!(draws.iter().all(|d| *d >= floor && *d < floor + MS(4000)));
        // Full jitter spreads over the whole range: both quarters at the ends are reached.
        assert!(draws.iter().any(|d| *d < floor + MS(1000)));
        assert!(draws.iter().any(|d| *d > floor + MS(3000)));
    }
}
