//! The indicatif implementation of [`redis_persist::io::Progress`]: a byte-based
//! progress bar on stderr, shown only when stderr is a terminal and progress is
//! allowed (never for JSON output to a terminal-less pipeline).
//!
//! A bar never stays on the screen: it is cleared when its job ends, when the
//! job stops early (an error, or a closed output pipe: `| head`; the bar is
//! dropped on the way out and clears itself), and on Ctrl-C (SIGINT), whose
//! handler, installed with the first visible bar, clears the bars still drawn
//! and exits with 130, the status a shell gives a process SIGINT ended.

use std::io::IsTerminal;
use std::sync::{Mutex, Once};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle, WeakProgressBar};
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
        }
        .with_finish(ProgressFinish::AndClear);
        if visible {
            bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
            on_interrupt_clear(&bar);
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

/// The visible bars, for the interrupt handler.
static VISIBLE: Mutex<Vec<WeakProgressBar>> = Mutex::new(Vec::new());

/// Registers a visible bar to be cleared on Ctrl-C; installs the handler once.
fn on_interrupt_clear(bar: &ProgressBar) {
    static HANDLER: Once = Once::new();
    if let Ok(mut v) = VISIBLE.lock() {
        v.retain(|w| w.upgrade().is_some());
        v.push(bar.downgrade());
    }
    HANDLER.call_once(|| {
        // Without a handler (it could not be installed), Ctrl-C ends the
        // process as it always did, leaving the last bar drawn.
        let _ = ctrlc::set_handler(|| {
            if let Ok(v) = VISIBLE.lock() {
                for b in v.iter().filter_map(WeakProgressBar::upgrade) {
                    b.finish_and_clear();
                }
            }
            std::process::exit(130);
        });
    });
}
