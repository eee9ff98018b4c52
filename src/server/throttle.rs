//! Per-address state of the server: how many sessions each address has open, how fast
//! it may open new ones (a token bucket), and how long its failed logins make it wait.
//! Every map is bounded: past [`MAX_ADDRESSES`] the stalest entries are dropped.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The most addresses remembered by the accept-rate and failure tables.
pub const MAX_ADDRESSES: usize = 10_000;

/// A token bucket per address: `burst` connections at once, then `per_second`.
pub struct RateLimit {
    burst: f64,
    per_second: f64,
    buckets: HashMap<IpAddr, (f64, Instant)>,
}

impl RateLimit {
    pub fn new(burst: u32, per_second: f64) -> RateLimit {
        RateLimit {
            burst: f64::from(burst.max(1)),
            per_second: per_second.max(0.0),
            buckets: HashMap::new(),
        }
    }

    /// Takes a token for `ip` at `now`; false: too fast.
    pub fn allow(&mut self, ip: IpAddr, now: Instant) -> bool {
        if self.buckets.len() >= MAX_ADDRESSES && !self.buckets.contains_key(&ip) {
            // Full buckets carry no information: forget them first.
            let (burst, rate) = (self.burst, self.per_second);
            self.buckets.retain(|_, (tokens, at)| {
                *tokens + rate * now.saturating_duration_since(*at).as_secs_f64() < burst
            });
            if self.buckets.len() >= MAX_ADDRESSES {
                self.buckets.clear();
            }
        }
        let (tokens, at) = self.buckets.entry(ip).or_insert((self.burst, now));
        let refill = self.per_second * now.saturating_duration_since(*at).as_secs_f64();
        *tokens = (*tokens + refill).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Failed logins per address: after [`FREE_FAILURES`] within [`FAILURE_WINDOW`], each
/// further failure's answer is held back 1 s, 2 s, 4 s … up to [`MAX_DELAY`]. A session's
/// requests run one at a time, so holding its answer holds its next attempt too.
pub struct Failures {
    seen: HashMap<IpAddr, (u32, Instant)>,
}

pub const FREE_FAILURES: u32 = 5;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
pub const MAX_DELAY: Duration = Duration::from_secs(30);

impl Default for Failures {
    fn default() -> Self {
        Failures::new()
    }
}

impl Failures {
    pub fn new() -> Failures {
        Failures { seen: HashMap::new() }
    }

    /// Records a failed login from `ip` at `now`; returns how long to hold its answer.
    pub fn failed(&mut self, ip: IpAddr, now: Instant) -> Duration {
        if self.seen.len() >= MAX_ADDRESSES && !self.seen.contains_key(&ip) {
            self.seen
                .retain(|_, (_, at)| now.saturating_duration_since(*at) < FAILURE_WINDOW);
            if self.seen.len() >= MAX_ADDRESSES {
                self.seen.clear();
            }
        }
        let (count, last) = self.seen.entry(ip).or_insert((0, now));
        if now.saturating_duration_since(*last) >= FAILURE_WINDOW {
            *count = 0;
        }
        *count = count.saturating_add(1);
        *last = now;
        delay_for(*count)
    }

    /// Failures counted for `ip` (for tests and the log).
    pub fn count(&self, ip: IpAddr) -> u32 {
        self.seen.get(&ip).map_or(0, |(n, _)| *n)
    }
}

/// The hold for the `count`-th failure in a row.
pub fn delay_for(count: u32) -> Duration {
    if count <= FREE_FAILURES {
        return Duration::ZERO;
    }
    let exp = (count - FREE_FAILURES - 1).min(16);
    Duration::from_secs(1u64 << exp).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_a_burst_then_the_rate() {
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let other: IpAddr = "203.0.113.8".parse().unwrap();
        let t = Instant::now();
        let mut rate = RateLimit::new(3, 1.0);
        assert!((0..3).all(|_| rate.allow(ip, t)));
        assert!(!rate.allow(ip, t));
        assert!(rate.allow(other, t), "another address has its own bucket");
        assert!(rate.allow(ip, t + Duration::from_millis(1001)));
        assert!(!rate.allow(ip, t + Duration::from_millis(1002)));
    }

    #[test]
    fn failures_back_off_and_are_forgotten() {
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        let t = Instant::now();
        let mut f = Failures::new();
        for _ in 0..FREE_FAILURES {
            assert_eq!(f.failed(ip, t), Duration::ZERO);
        }
        assert_eq!(f.failed(ip, t), Duration::from_secs(1));
        assert_eq!(f.failed(ip, t), Duration::from_secs(2));
        for _ in 0..20 {
            assert!(f.failed(ip, t) <= MAX_DELAY);
        }
        assert_eq!(f.failed(ip, t), MAX_DELAY);
        assert_eq!(f.failed(ip, t + FAILURE_WINDOW), Duration::ZERO);
        assert_eq!(f.count(ip), 1);
    }

    #[test]
    fn the_tables_stay_bounded() {
        let t = Instant::now();
        let mut f = Failures::new();
        let mut rate = RateLimit::new(1, 0.0);
        for n in 0..(MAX_ADDRESSES as u32 + 10) {
            let ip = IpAddr::from(n.to_be_bytes());
            f.failed(ip, t);
            rate.allow(ip, t);
        }
        assert!(f.seen.len() <= MAX_ADDRESSES);
        assert!(rate.buckets.len() <= MAX_ADDRESSES);
    }
}
