//! Progress on a terminal for long work; silent when standard error is not a terminal.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A spinner with a running count, e.g. `⠋ 12,000 commits read`.
pub fn counter(unit: &'static str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {human_pos} {msg} ({per_sec}, {elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(unit);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Import progress as a counter on the terminal (see [`counter`]), one at a time.
#[derive(Default)]
pub struct Terminal(std::sync::Mutex<Option<ProgressBar>>);

impl Terminal {
    fn with(&self, f: impl FnOnce(&ProgressBar)) {
        if let Ok(bar) = self.0.lock()
            && let Some(bar) = bar.as_ref()
        {
            f(bar);
        }
    }
}

impl fairshare_ingest::Progress for Terminal {
    fn start(&self, unit: &'static str) {
        if let Ok(mut bar) = self.0.lock() {
            *bar = Some(counter(unit));
        }
    }
    fn set(&self, position: u64) {
        self.with(|bar| bar.set_position(position));
    }
    fn add(&self, delta: u64) {
        self.with(|bar| bar.inc(delta));
    }
    fn finish(&self) {
        if let Ok(mut bar) = self.0.lock()
            && let Some(bar) = bar.take()
        {
            bar.finish_and_clear();
        }
    }
}
