//! The program's one clock. Real time in production; shifted to another day for demos
//! and trials (`FAIRSHARE_TODAY`); set and moved by hand in tests, so a test can run
//! months of a programme in seconds. The store carries it, so the scheduler, the
//! mail queue and everything that asks the store what time it is agree.

use std::sync::{Arc, Mutex};

use time::{Date, Duration, OffsetDateTime};

#[derive(Clone, Debug, Default)]
pub struct Clock(Arc<Kind>);

#[derive(Debug, Default)]
enum Kind {
    #[default]
    System,
    /// Real time moved by a fixed amount: today is another day, hours still pass.
    Shifted(Duration),
    /// Time that moves only when told to.
    Manual(Mutex<OffsetDateTime>),
}

impl Clock {
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Real time, but with `today` as today's date (the time of day stays real).
    pub fn starting_on(today: Date) -> Clock {
        let now = OffsetDateTime::now_utc();
        Clock(Arc::new(Kind::Shifted(
            today.midnight().assume_utc() - now.date().midnight().assume_utc(),
        )))
    }

    /// A clock that stands at `at` until moved with [`Clock::advance`] or [`Clock::set`].
    pub fn manual(at: OffsetDateTime) -> Clock {
        Clock(Arc::new(Kind::Manual(Mutex::new(at))))
    }

    pub fn now(&self) -> OffsetDateTime {
        match &*self.0 {
            Kind::System => OffsetDateTime::now_utc(),
            Kind::Shifted(by) => OffsetDateTime::now_utc() + *by,
            Kind::Manual(at) => *at.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    pub fn today(&self) -> Date {
        self.now().date()
    }

    /// Moves a manual clock forward; other clocks ignore it.
    pub fn advance(&self, by: Duration) {
        if let Kind::Manual(at) = &*self.0 {
            *at.lock().unwrap_or_else(|e| e.into_inner()) += by;
        }
    }

    /// Sets a manual clock; other clocks ignore it.
    pub fn set(&self, to: OffsetDateTime) {
        if let Kind::Manual(at) = &*self.0 {
            *at.lock().unwrap_or_else(|e| e.into_inner()) = to;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = Clock::manual(datetime!(2026-03-01 00:00 UTC));
        assert_eq!(clock.now(), datetime!(2026-03-01 00:00 UTC));
        clock.advance(Duration::days(2));
        assert_eq!(clock.today(), date!(2026 - 03 - 03));
        // Copies share the time.
        let copy = clock.clone();
        copy.set(datetime!(2026-05-01 12:00 UTC));
        assert_eq!(clock.now(), datetime!(2026-05-01 12:00 UTC));
    }

    #[test]
    fn a_shifted_clock_has_another_today() {
        let clock = Clock::starting_on(date!(2026 - 02 - 03));
        assert_eq!(clock.today(), date!(2026 - 02 - 03));
    }
}
