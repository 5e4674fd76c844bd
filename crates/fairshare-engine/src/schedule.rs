//! When the programme's machine runs things: the interval of a source (`15m`, `6h`,
//! `1d`), when a source is next due (its interval with a spread, or a retry with
//! backoff after failures), and which month the monthly review is due for. Pure:
//! "now" and the history are handed in.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, Time};

use crate::Month;

/// How often a source runs: a whole number of minutes, hours or days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Every(Duration);

/// The shortest interval: external APIs are polite to poll no more often.
pub const SHORTEST: Duration = Duration::minutes(5);
/// The longest interval: a source that runs less than monthly misses reviews.
pub const LONGEST: Duration = Duration::days(31);

impl Every {
    pub fn duration(self) -> Duration {
        self.0
    }
}

impl std::str::FromStr for Every {
    type Err = String;

    fn from_str(text: &str) -> Result<Every, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let number: i64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not an interval like 15m, 6h or 1d"))?;
        let duration = match unit {
            "m" | "min" => Duration::minutes(number),
            "h" => Duration::hours(number),
            "d" => Duration::days(number),
            _ => {
                return Err(format!(
                    "`{text}` is not an interval like 15m, 6h or 1d (units: m, h, d)"
                ));
            }
        };
        if duration < SHORTEST || duration > LONGEST {
            return Err(format!(
                "`{text}` is outside the allowed intervals, 5m to 31d"
            ));
        }
        Ok(Every(duration))
    }
}

impl TryFrom<String> for Every {
    type Error = String;
    fn try_from(text: String) -> Result<Every, String> {
        text.parse()
    }
}

impl From<Every> for String {
    fn from(every: Every) -> String {
        every.to_string()
    }
}

impl fmt::Display for Every {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let minutes = self.0.whole_minutes();
        if minutes % (24 * 60) == 0 {
            write!(f, "{}d", minutes / (24 * 60))
        } else if minutes % 60 == 0 {
            write!(f, "{}h", minutes / 60)
        } else {
            write!(f, "{minutes}m")
        }
    }
}

/// What the scheduler knows of a source's last runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunHistory {
    /// When the last run started; none: it never ran.
    pub last_started: Option<OffsetDateTime>,
    /// Failed runs since the last success.
    pub failures_in_a_row: u32,
}

/// The first retry after a failure waits this long; each further failure doubles it,
/// up to the source's own interval.
pub const FIRST_RETRY: Duration = Duration::minutes(2);

/// When a source is next due. A source that never ran is due at once. After a
/// success it waits its interval, spread by up to a tenth of it (`spread` in 0..1000,
/// fixed per source) so that sources defined together do not all start together.
/// After failures it retries sooner, with backoff, but never later than its interval.
pub fn next_run(every: Every, history: RunHistory, spread: u16) -> Option<OffsetDateTime> {
    let last = history.last_started?;
    let interval = every.duration();
    if history.failures_in_a_row > 0 {
        let doubling = history.failures_in_a_row.saturating_sub(1).min(16);
        let backoff = FIRST_RETRY * 2i32.pow(doubling);
        return Some(last + backoff.min(interval));
    }
    let jitter = interval / 10 * i32::from(spread.min(999)) / 1000;
    Some(last + interval + jitter)
}

/// Whether a source is due at `now` (see [`next_run`]).
pub fn is_due(every: Every, history: RunHistory, spread: u16, now: OffsetDateTime) -> bool {
    next_run(every, history, spread).is_none_or(|at| at <= now)
}

/// A fixed spread in 0..1000 for a name, the same on every instance.
pub fn spread_of(name: &str) -> u16 {
    // FNV-1a: stable across processes and releases, unlike the standard hasher.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % 1000) as u16
}

/// When, each month, the previous month is reviewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReviewCalendar {
    /// Day of the month, 1–28 (every month has it), after late data has arrived.
    pub day: u8,
    /// Hour of that day, UTC, 0–23.
    pub hour: u8,
}

impl Default for ReviewCalendar {
    fn default() -> Self {
        ReviewCalendar { day: 3, hour: 6 }
    }
}

impl ReviewCalendar {
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=28).contains(&self.day) {
            return Err(format!("review.day must be from 1 to 28, not {}", self.day));
        }
        if self.hour > 23 {
            return Err(format!(
                "review.hour must be from 0 to 23, not {}",
                self.hour
            ));
        }
        Ok(())
    }

    /// When `month`'s review is due: its following month's day and hour.
    pub fn review_time(&self, month: Month) -> OffsetDateTime {
        let next = month.next().first_day();
        let day = next
            .replace_day(self.day)
            .expect("days 1-28 exist in every month");
        day.with_time(Time::from_hms(self.hour, 0, 0).expect("hours 0-23"))
            .assume_utc()
    }

    /// The month whose review is due at `now` and not done: the month before the
    /// current one once this month's review time has passed, unless `last_reviewed`
    /// is that month or later. Months further back are never reviewed automatically:
    /// catching up is a decision for a person (`fairshare review-month`).
    pub fn due_month(&self, now: OffsetDateTime, last_reviewed: Option<Month>) -> Option<Month> {
        let previous = Month::of(now.date()).previous();
        if now < self.review_time(previous) {
            return None;
        }
        match last_reviewed {
            Some(done) if done >= previous => None,
            _ => Some(previous),
        }
    }

    /// The next review time after `now` that has not been done.
    pub fn next_review(&self, now: OffsetDateTime, last_reviewed: Option<Month>) -> OffsetDateTime {
        if let Some(month) = self.due_month(now, last_reviewed) {
            return self.review_time(month);
        }
        let current = Month::of(now.date());
        let this_months = self.review_time(current.previous());
        if now < this_months && last_reviewed < Some(current.previous()) {
            this_months
        } else {
            self.review_time(current)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn every(text: &str) -> Every {
        text.parse().unwrap()
    }

    #[test]
    fn intervals_read_in_minutes_hours_and_days() {
        assert_eq!(every("15m").duration(), Duration::minutes(15));
        assert_eq!(every("6h").duration(), Duration::hours(6));
        assert_eq!(every("1d").duration(), Duration::days(1));
        assert_eq!(every("90m").to_string(), "90m");
        assert_eq!(every("120m").to_string(), "2h");
        assert_eq!(every("48h").to_string(), "2d");
    }

    #[test]
    fn intervals_outside_five_minutes_to_a_month_are_refused() {
        for bad in ["1m", "32d", "0h", "", "h", "6 hours", "-5m", "1w"] {
            assert!(bad.parse::<Every>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_source_that_never_ran_is_due_at_once() {
        let now = datetime!(2026-03-01 00:00 UTC);
        assert!(is_due(every("1d"), RunHistory::default(), 500, now));
    }

    #[test]
    fn after_a_success_a_source_waits_its_interval_and_its_spread() {
        let last = datetime!(2026-03-01 00:00 UTC);
        let history = RunHistory {
            last_started: Some(last),
            failures_in_a_row: 0,
        };
        assert_eq!(
            next_run(every("6h"), history, 0),
            Some(last + Duration::hours(6))
        );
        // At most a tenth of the interval later.
        assert_eq!(
            next_run(every("10h"), history, 500),
            Some(last + Duration::hours(10) + Duration::minutes(30))
        );
    }

    #[test]
    fn failures_retry_sooner_with_backoff_but_never_later_than_the_interval() {
        let last = datetime!(2026-03-01 00:00 UTC);
        let after = |failures| {
            next_run(
                every("1h"),
                RunHistory {
                    last_started: Some(last),
                    failures_in_a_row: failures,
                },
                999,
            )
            .unwrap()
                - last
        };
        assert_eq!(after(1), Duration::minutes(2));
        assert_eq!(after(2), Duration::minutes(4));
        assert_eq!(after(3), Duration::minutes(8));
        assert_eq!(after(10), Duration::hours(1));
        assert_eq!(after(u32::MAX), Duration::hours(1));
    }

    #[test]
    fn spreads_are_stable_and_differ_between_names() {
        assert_eq!(spread_of("forum"), spread_of("forum"));
        assert_ne!(spread_of("forum"), spread_of("code"));
        assert!(spread_of("anything") < 1000);
    }

    #[test]
    fn the_previous_month_is_due_from_its_review_time() {
        let calendar = ReviewCalendar::default();
        let march = Month::new(2026, 3).unwrap();
        let april = Month::new(2026, 4).unwrap();
        assert_eq!(calendar.review_time(march), datetime!(2026-04-03 06:00 UTC));
        assert_eq!(
            calendar.due_month(datetime!(2026-04-03 05:59 UTC), None),
            None
        );
        assert_eq!(
            calendar.due_month(datetime!(2026-04-03 06:00 UTC), None),
            Some(march)
        );
        assert_eq!(
            calendar.due_month(datetime!(2026-04-20 00:00 UTC), Some(march)),
            None
        );
        assert_eq!(
            calendar.due_month(datetime!(2026-05-03 07:00 UTC), Some(march)),
            Some(april)
        );
    }

    #[test]
    fn the_next_review_is_this_months_until_it_is_done() {
        let calendar = ReviewCalendar::default();
        let march = Month::new(2026, 3).unwrap();
        assert_eq!(
            calendar.next_review(datetime!(2026-04-01 00:00 UTC), None),
            datetime!(2026-04-03 06:00 UTC)
        );
        assert_eq!(
            calendar.next_review(datetime!(2026-04-05 00:00 UTC), Some(march)),
            datetime!(2026-05-03 06:00 UTC)
        );
        // Overdue and not done: it is due now, at its time.
        assert_eq!(
            calendar.next_review(datetime!(2026-04-05 00:00 UTC), None),
            datetime!(2026-04-03 06:00 UTC)
        );
    }

    #[test]
    fn review_days_past_the_28th_and_hours_past_23_are_refused() {
        assert!(ReviewCalendar { day: 29, hour: 6 }.validate().is_err());
        assert!(ReviewCalendar { day: 0, hour: 6 }.validate().is_err());
        assert!(ReviewCalendar { day: 3, hour: 24 }.validate().is_err());
        assert!(ReviewCalendar::default().validate().is_ok());
    }
}
