//! Progress on a terminal for long work; silent when standard error is not a terminal.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A spinner with a running count, e.g. `⠋ 12,000 commits read`, after the stage of
/// the whole job when there are several (`file 2 of 12, about 3m left · `).
pub fn counter(unit: &'static str, stage: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{prefix}{spinner} {human_pos} {msg} ({per_sec}, {elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_prefix(stage.to_string());
    bar.set_message(unit);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Where a job of `total` known parts stands after `done` of them, begun at `started`:
/// `file 3 of 12, about 2m left · ` (the time left from the pace so far).
pub fn stage(part: &str, done: usize, total: usize, started: Instant) -> String {
    let left = match done {
        0 => String::new(),
        _ => {
            let per_part = started.elapsed() / u32::try_from(done).unwrap_or(u32::MAX);
            let remaining = per_part * u32::try_from(total.saturating_sub(done)).unwrap_or(0);
            format!(", about {} left", indicatif::HumanDuration(remaining))
        }
    };
    format!("{part} {} of {total}{left} · ", done + 1)
}

/// Import progress as a counter on the terminal (see [`counter`]), one at a time, with
/// the stage of the whole job when it has several parts.
#[derive(Default)]
pub struct Terminal {
    bar: std::sync::Mutex<Option<ProgressBar>>,
    stage: std::sync::Mutex<String>,
}

impl Terminal {
    fn with(&self, f: impl FnOnce(&ProgressBar)) {
        if let Ok(bar) = self.bar.lock()
            && let Some(bar) = bar.as_ref()
        {
            f(bar);
        }
    }

    /// The stage shown before the next counters (see [`stage`]).
    pub fn set_stage(&self, text: String) {
        if let Ok(mut stage) = self.stage.lock() {
            *stage = text;
        }
    }
}

impl fairshare_ingest::Progress for Terminal {
    fn start(&self, unit: &'static str) {
        let stage = self.stage.lock().map(|s| s.clone()).unwrap_or_default();
        if let Ok(mut bar) = self.bar.lock() {
            *bar = Some(counter(unit, &stage));
        }
    }
    fn set(&self, position: u64) {
        self.with(|bar| bar.set_position(position));
    }
    fn add(&self, delta: u64) {
        self.with(|bar| bar.inc(delta));
    }
    fn finish(&self) {
        if let Ok(mut bar) = self.bar.lock()
            && let Some(bar) = bar.take()
        {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_says_which_part_of_how_many_and_the_time_left_once_known() {
        let started = Instant::now() - Duration::from_secs(60);
        assert_eq!(stage("file", 0, 12, started), "file 1 of 12 · ");
        assert_eq!(
            stage("file", 3, 12, started),
            "file 4 of 12, about 3 minutes left · "
        );
    }
}
