//! The engine's HTTP threads ("lanes") and which one each run uses.
//!
//! One thread moves every byte of its transfers (libcurl, the socket reads, the writes into the
//! temp files), so with many small files that thread, not the network, sets the pace. An engine
//! therefore runs one HTTP thread per core, at most [`MAX_LANES`]: a fixed number however many
//! jobs there are. Each run of a job stays on one lane, so a job's files follow each other on
//! that lane's kept-alive connections; a new run goes to the lane with the fewest runs.
//!
//! The per-host connection limit is split between the lanes so that, summed over all lanes, no
//! host gets more connections than the manager's option says.

use super::http::HttpDriver;
use super::Engine;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

/// HTTP threads at most, however many cores the machine has: a background service should not
/// take a large machine's every core.
const MAX_LANES: usize = 4;

/// The HTTP threads of one engine.
pub struct Lanes {
    drivers: Vec<HttpDriver>,
    /// Runs placed on each lane and not yet dropped.
    runs: Vec<Arc<AtomicUsize>>,
    /// How many lanes (the first ones) new runs may use: no more than the per-host connection
    /// limit, so that each lane in use gets at least one connection of it.
    usable: AtomicUsize,
}

/// A run's place on a lane. The lane counts the run until this is dropped.
pub struct Lane {
    index: usize,
    runs: Arc<AtomicUsize>,
}

impl Drop for Lane {
    fn drop(&mut self) {
        self.runs.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Lanes {
    /// Starts `count` HTTP threads (at least one) for `engine`, sharing `max_host` connections
    /// per host. On an error, the threads already started are stopped again.
    pub fn start(engine: Weak<Engine>, count: usize, max_host: usize) -> std::io::Result<Lanes> {
        let count = count.max(1);
        let usable = count.min(max_host.max(1));
        let mut drivers = Vec::with_capacity(count);
        for i in 0..count {
            match HttpDriver::start(engine.clone(), share(max_host, usable, i)) {
                Ok(driver) => drivers.push(driver),
                Err(e) => {
                    for d in &drivers {
                        d.shutdown();
                    }
                    return Err(e);
                }
            }
        }
        Ok(Lanes {
            runs: (0..count).map(|_| Arc::new(AtomicUsize::new(0))).collect(),
            drivers,
            usable: AtomicUsize::new(usable),
        })
    }

    /// One HTTP thread per core, at most [`MAX_LANES`].
    pub fn default_count() -> usize {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, MAX_LANES)
    }

    /// Places a new run on the usable lane with the fewest runs (the first such on a tie).
    pub fn assign(&self) -> Lane {
        let usable = self
            .usable
            .load(Ordering::Relaxed)
            .clamp(1, self.runs.len());
        let index = (0..usable)
            .min_by_key(|&i| self.runs[i].load(Ordering::Relaxed))
            .unwrap_or(0);
        let runs = self.runs[index].clone();
        runs.fetch_add(1, Ordering::Relaxed);
        Lane { index, runs }
    }

    /// The HTTP thread of `lane`.
    pub fn driver(&self, lane: &Lane) -> &HttpDriver {
        &self.drivers[lane.index]
    }

    /// Splits a new per-host connection limit between the lanes. A lane new runs no longer
    /// use keeps one connection for the runs it still has.
    pub fn set_max_host_connections(&self, n: usize) {
        let usable = self.drivers.len().min(n.max(1));
        self.usable.store(usable, Ordering::Relaxed);
        for (i, d) in self.drivers.iter().enumerate() {
            d.set_max_host_connections(share(n, usable, i));
        }
    }

    /// Wakes every HTTP thread.
    pub fn wake(&self) {
        for d in &self.drivers {
            d.wake();
        }
    }

    /// Stops every transfer and joins every HTTP thread.
    pub fn shutdown(&self) {
        for d in &self.drivers {
            d.shutdown();
        }
    }
}

/// Lane `i`'s part of `total` connections split over the first `usable` lanes (1 for a lane
/// past those: libcurl reads 0 as "no limit").
fn share(total: usize, usable: usize, i: usize) -> usize {
    if i >= usable || usable == 0 {
        return 1;
    }
    (total / usable + usize::from(i < total % usable)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_sum_to_the_limit() {
        for total in 1..=20 {
            for lanes in 1..=MAX_LANES {
                let usable = lanes.min(total);
                let sum: usize = (0..usable).map(|i| share(total, usable, i)).sum();
                assert_eq!(sum, total, "total {total} over {lanes} lanes");
                for i in 0..usable {
                    assert!(share(total, usable, i) >= 1);
                }
                for i in usable..lanes {
                    assert_eq!(share(total, usable, i), 1);
                }
            }
        }
        assert_eq!(share(6, 4, 0), 2);
        assert_eq!(share(6, 4, 1), 2);
        assert_eq!(share(6, 4, 2), 1);
        assert_eq!(share(6, 4, 3), 1);
    }

    #[test]
    fn runs_go_to_the_lane_with_the_fewest() {
        // No engine: the threads leave at once, and placing runs does not need them.
        let lanes = Lanes::start(Weak::new(), 3, 8).expect("threads start");
        let mut placed: Vec<Lane> = (0..5).map(|_| lanes.assign()).collect();
        let on: Vec<usize> = placed.iter().map(|l| l.index).collect();
        assert_eq!(on, [0, 1, 2, 0, 1]);
        // A run that ends frees its place.
        drop(placed.remove(2));
        placed.push(lanes.assign());
        assert_eq!(placed[4].index, 2);
        // With 2 connections per host only the first 2 lanes take new runs.
        lanes.set_max_host_connections(2);
        let a = lanes.assign();
        let b = lanes.assign();
        assert!(a.index < 2 && b.index < 2, "{} {}", a.index, b.index);
        lanes.set_max_host_connections(1);
        assert_eq!(lanes.assign().index, 0);
        lanes.shutdown();
    }
}
