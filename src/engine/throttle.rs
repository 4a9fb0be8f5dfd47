//! Bandwidth throttling of HTTP transfers: token buckets for the background cap (shared by all
//! background jobs) and for each job's own cap. A transfer over its budget is paused through
//! libcurl (no busy waiting, no stall of other transfers) and resumed by the HTTP thread when
//! the budget allows; the stall detector ignores paused time.
//!
//! While a foreground job transfers, background jobs yield: their cap drops to
//! `foreground_yield_percent` of the configured cap, or, with no cap, of the foreground jobs'
//! own recent rate; never below a floor, so their connections never time out.

use crate::model::Guid;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Background jobs never drop below this rate while yielding (bytes/s).
const YIELD_FLOOR_BPS: f64 = 16.0 * 1024.0;

struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(now: Instant) -> Self {
        Bucket {
            tokens: 0.0,
            last: now,
        }
    }

    /// Adds what `rate` earned since the last refill; at most a tenth of a second of burst.
    fn refill(&mut self, rate: f64, now: Instant) {
        let dt = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        let burst = (rate * 0.1).max(64.0 * 1024.0);
        self.tokens = (self.tokens + rate * dt).min(burst);
    }
}

#[derive(Default)]
struct State {
    background: Option<Bucket>,
    jobs: HashMap<Guid, Bucket>,
    /// Foreground bytes over the current measuring window, and the rate measured last window.
    fg_window: (Option<Instant>, u64),
    fg_rate: f64,
    fg_last_seen: Option<Instant>,
}

/// The throttle of one engine.
#[derive(Default)]
pub struct Throttle {
    state: Mutex<State>,
}

/// What a transfer asking for bytes is.
#[derive(Clone, Copy)]
pub struct Ask {
    /// Its job.
    pub job: Guid,
    /// Whether the job is FOREGROUND.
    pub foreground: bool,
    /// The job's own cap (0 = none).
    pub job_rate: u64,
    /// The engine's background cap (0 = none).
    pub background_rate: u64,
    /// The share of the cap background jobs keep while a foreground job transfers.
    pub yield_percent: u64,
}

impl Throttle {
    fn background_rate(st: &State, ask: &Ask, now: Instant) -> f64 {
        let fg_active = st
            .fg_last_seen
            .is_some_and(|t| now.duration_since(t) < Duration::from_millis(500));
        let cap = ask.background_rate as f64;
        if !fg_active {
            return cap; // 0 = unlimited
        }
        let share = ask.yield_percent.min(100) as f64 / 100.0;
        let base = if cap > 0.0 { cap } else { st.fg_rate };
        (base * share).max(YIELD_FLOOR_BPS)
    }

    /// Accounts `n` bytes a transfer wants to write; `false` means: pause it (nothing taken).
    pub fn admit(&self, ask: &Ask, n: usize) -> bool {
        let now = Instant::now();
        let mut st = self.state.lock();
        let n = n as f64;
        if ask.foreground {
            st.fg_last_seen = Some(now);
            let (start, bytes) = st.fg_window;
            match start {
                Some(s) if now.duration_since(s) >= Duration::from_millis(250) => {
                    st.fg_rate = bytes as f64 / now.duration_since(s).as_secs_f64();
                    st.fg_window = (Some(now), n as u64);
                }
                Some(_) => st.fg_window.1 += n as u64,
                None => st.fg_window = (Some(now), n as u64),
            }
        }
        let job_rate = ask.job_rate as f64;
        let bg_rate = if ask.foreground {
            0.0
        } else {
            Self::background_rate(&st, ask, now)
        };
        if job_rate > 0.0 {
            let b = st.jobs.entry(ask.job).or_insert_with(|| Bucket::new(now));
            b.refill(job_rate, now);
            if b.tokens < 0.0 {
                return false;
            }
        }
        if bg_rate > 0.0 {
            let b = st.background.get_or_insert_with(|| Bucket::new(now));
            b.refill(bg_rate, now);
            if b.tokens < 0.0 {
                return false;
            }
            b.tokens -= n;
        }
        if job_rate > 0.0 {
            if let Some(b) = st.jobs.get_mut(&ask.job) {
                b.tokens -= n;
            }
        }
        true
    }

    /// Whether a paused transfer may go on (its buckets are out of debt).
    pub fn ready(&self, ask: &Ask) -> bool {
        let now = Instant::now();
        let mut st = self.state.lock();
        let bg_rate = if ask.foreground {
            0.0
        } else {
            Self::background_rate(&st, ask, now)
        };
        if ask.job_rate > 0 {
            if let Some(b) = st.jobs.get_mut(&ask.job) {
                b.refill(ask.job_rate as f64, now);
                if b.tokens < 0.0 {
                    return false;
                }
            }
        }
        if bg_rate > 0.0 {
            if let Some(b) = st.background.as_mut() {
                b.refill(bg_rate, now);
                if b.tokens < 0.0 {
                    return false;
                }
            }
        }
        true
    }

    /// Forgets a job's bucket (its transfer ended).
    pub fn forget(&self, job: &Guid) {
        self.state.lock().jobs.remove(job);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capped_job_is_paused_once_in_debt_and_resumes_later() {
        let t = Throttle::default();
        let ask = Ask {
            job: Guid::default(),
            foreground: false,
            job_rate: 1_000_000,
            background_rate: 0,
            yield_percent: 10,
        };
        assert!(t.admit(&ask, 500_000)); // into debt
        assert!(!t.admit(&ask, 1));
        assert!(!t.ready(&ask));
        std::thread::sleep(Duration::from_millis(600));
        assert!(t.ready(&ask));
        let free = Ask { job_rate: 0, ..ask };
        assert!(t.admit(&free, 10_000_000));
    }
}
