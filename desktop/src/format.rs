//! Money, counts and times as the page writes them (its `Intl` formats): "1 250,00 ₽" and "05:45" in
//! Russian, "RUB 1,250.00" and "05:45 AM" in English. Money is an integer number of kopecks on the
//! wire and stays one until it is written here.

use std::time::{SystemTime, UNIX_EPOCH};

use time::{OffsetDateTime, UtcOffset};

use crate::texts::Lang;

/// The no-break space `Intl` puts between digit groups and before "₽" in Russian.
const NBSP: char = '\u{a0}';

/// Kopecks as roubles: `1 250,00 ₽` (ru), `RUB 1,250.00` (en).
pub fn money(kopecks: i64, lang: Lang) -> String {
    let sign = if kopecks < 0 { "-" } else { "" };
    let abs = kopecks.unsigned_abs();
    let (roubles, cents) = (abs / 100, abs % 100);
    match lang {
        Lang::Ru => format!("{sign}{},{cents:02}{NBSP}₽", grouped(roubles, NBSP)),
        Lang::En => format!("{sign}RUB{NBSP}{}.{cents:02}", grouped(roubles, ',')),
    }
}

/// A count: `1 250` (ru), `1,250` (en).
pub fn number(n: i64, lang: Lang) -> String {
    let sign = if n < 0 { "-" } else { "" };
    let separator = match lang {
        Lang::Ru => NBSP,
        Lang::En => ',',
    };
    format!("{sign}{}", grouped(n.unsigned_abs(), separator))
}

fn grouped(n: u64, separator: char) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(digit);
    }
    out
}

/// The wall clock and the local UTC offset, for the times of messages, drops and mutes.
///
/// The offset is read once, at start: on Unix `time` reads it only while the process has a single
/// thread, and a club's clock rarely changes its offset during a session.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    offset: UtcOffset,
}

impl Clock {
    /// The system's local offset (UTC when it cannot be read); call before starting threads.
    pub fn local() -> Clock {
        Clock {
            offset: UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC),
        }
    }

    /// A clock on UTC (tests).
    #[cfg(test)]
    pub fn utc() -> Clock {
        Clock {
            offset: UtcOffset::UTC,
        }
    }

    /// Now, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        now_ms()
    }

    fn local_time(&self, unix_ms: i64) -> OffsetDateTime {
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        at.to_offset(self.offset)
    }

    /// Hours and minutes: `18:05` (ru), `06:05 PM` (en).
    pub fn time(&self, unix_ms: i64, lang: Lang) -> String {
        let at = self.local_time(unix_ms);
        let (hour, minute) = (at.hour(), at.minute());
        match lang {
            Lang::Ru => format!("{hour:02}:{minute:02}"),
            Lang::En => {
                let (h12, half) = match hour {
                    0 => (12, "AM"),
                    1..=11 => (hour, "AM"),
                    12 => (12, "PM"),
                    _ => (hour - 12, "PM"),
                };
                format!("{h12:02}:{minute:02} {half}")
            }
        }
    }

    /// A moment that may be on another day (a mute's end): the time, with the date when not today.
    pub fn moment(&self, unix_ms: i64, lang: Lang) -> String {
        let at = self.local_time(unix_ms);
        let time = self.time(unix_ms, lang);
        if at.date() == self.local_time(self.now_ms()).date() {
            return time;
        }
        let (day, month) = (at.day(), u8::from(at.month()));
        match lang {
            Lang::Ru => format!("{day:02}.{month:02} {time}"),
            Lang::En => format!("{month:02}/{day:02} {time}"),
        }
    }
}

/// The wall clock in Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_as_the_pages_intl_format() {
        assert_eq!(money(125_000, Lang::Ru), "1\u{a0}250,00\u{a0}₽");
        assert_eq!(money(125_000, Lang::En), "RUB\u{a0}1,250.00");
        assert_eq!(money(5, Lang::Ru), "0,05\u{a0}₽");
        assert_eq!(money(-1_000_000_050, Lang::En), "-RUB\u{a0}10,000,000.50");
        assert_eq!(money(0, Lang::Ru), "0,00\u{a0}₽");
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(number(999, Lang::En), "999");
        assert_eq!(number(1000, Lang::En), "1,000");
        assert_eq!(number(1_234_567, Lang::Ru), "1\u{a0}234\u{a0}567");
    }

    #[test]
    fn times_are_local_hours_and_minutes() {
        let clock = Clock::utc();
        // 2021-03-04 18:05:00 UTC: another day than today.
        let ms = 1_614_881_100_000;
        assert_eq!(clock.time(ms, Lang::Ru), "18:05");
        assert_eq!(clock.time(ms, Lang::En), "06:05 PM");
        assert_eq!(clock.time(ms - 18 * 3_600_000, Lang::En), "12:05 AM");
        assert_eq!(clock.moment(ms, Lang::Ru), "04.03 18:05");
        assert_eq!(clock.moment(clock.now_ms(), Lang::Ru).len(), "18:05".len());
    }
}
