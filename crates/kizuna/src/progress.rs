//! A progress bar on standard error for long imports: share done, count, rate and time left.
//! On a terminal it redraws one line; otherwise it prints a line every tenth of the way.

use domain::i18n::Lang;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

const WIDTH: u64 = 30;

pub struct Bar {
    total: u64,
    lang: Lang,
    started: Instant,
    terminal: bool,
    /// The last tenth printed when standard error is not a terminal.
    last_tenth: AtomicU64,
}

impl Bar {
    pub fn new(total: u64, lang: Lang) -> Bar {
        Bar {
            total,
            lang,
            started: Instant::now(),
            terminal: std::io::stderr().is_terminal(),
            last_tenth: AtomicU64::new(0),
        }
    }

    pub fn show(&self, done: u64) {
        let total = self.total.max(1);
        let done = done.min(total);
        let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = done as f64 / seconds;
        let left = if rate > 0.0 { (total - done) as f64 / rate } else { 0.0 };
        let filled = done * WIDTH / total;
        let bar = format!(
            "[{}{}] {:>3}% {done}/{total}",
            "#".repeat(filled as usize),
            "-".repeat((WIDTH - filled) as usize),
            done * 100 / total
        );
        let line = match self.lang {
            Lang::Ja => format!("{bar} 毎秒 {rate:.0} 件、残り {left:.0} 秒"),
            Lang::En => format!("{bar} {rate:.0}/s, {left:.0}s left"),
        };
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r{line}");
        } else {
            let tenth = done * 10 / total;
            if tenth > self.last_tenth.swap(tenth, Ordering::Relaxed) {
                let _ = writeln!(err, "{line}");
            }
        }
    }

    pub fn finish(&self) {
        if self.terminal {
            eprintln!();
        }
    }
}
