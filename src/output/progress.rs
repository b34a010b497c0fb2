//! The indicatif implementation of [`redis_persist::io::Progress`]: a byte-based
//! progress bar on stderr, shown only when stderr is a terminal and progress is
//! allowed (never for JSON output to a terminal-less pipeline).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use redis_persist::io::Progress;

/// A progress bar that may be hidden.
#[derive(Clone)]
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// A bar for reading `total` bytes (unknown when `None`), labelled `msg`.
    /// Hidden unless `enabled` and stderr is a terminal.
    pub fn new(enabled: bool, total: Option<u64>, msg: &str) -> Self {
        let visible = enabled && std::io::stderr().is_terminal();
        let bar = match total {
            Some(t) => ProgressBar::new(t),
            None => ProgressBar::new_spinner(),
        };
        if visible {
            bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        } else {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        let style = if total.is_some() {
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
            )
        } else {
            ProgressStyle::with_template("{msg} {spinner} {bytes} ({bytes_per_sec})")
        };
        if let Ok(style) = style {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(msg.to_owned());
        Self { bar }
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// A boxed [`Progress`] handle feeding this bar.
    pub fn handle(&self) -> Box<dyn Progress> {
        Box::new(self.clone())
    }
}

impl Progress for Bar {
    fn set_position(&self, offset: u64) {
        self.bar.set_position(offset);
    }
}
