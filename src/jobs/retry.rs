//! Retry schedule: delayed_job's (attempt^4 + 5 seconds, 25 attempts) with jitter.

use std::time::Duration;

pub const DEFAULT_MAX_ATTEMPTS: i32 = 25;

/// The delay before retrying after failed attempt `attempt` (1-based):
/// `attempt^4 + 5` seconds, plus up to 10% random jitter so that jobs that
/// failed together do not all come back in the same instant.
pub fn delayed_job_backoff(attempt: i32) -> Duration {
    let base = delayed_job_base(attempt);
    let jitter = base.mul_f64(fastrand::f64() * 0.1);
    base + jitter
}

/// The schedule without jitter.
pub fn delayed_job_base(attempt: i32) -> Duration {
    let n = u64::try_from(attempt.max(1)).unwrap_or(1);
    Duration::from_secs(n.saturating_pow(4).saturating_add(5))
}

/// A fixed delay, for kinds that poll something outside (and for tests).
pub fn constant_backoff<const MILLIS: u64>(_attempt: i32) -> Duration {
    Duration::from_millis(MILLIS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_delayed_job_schedule() {
        assert_eq!(delayed_job_base(1), Duration::from_secs(6));
        assert_eq!(delayed_job_base(2), Duration::from_secs(21));
        assert_eq!(delayed_job_base(3), Duration::from_secs(86));
        assert_eq!(delayed_job_base(25), Duration::from_secs(390_630));
        // 25 attempts span about 20 days, as in delayed_job.
        let total: u64 = (1..25).map(|a| delayed_job_base(a).as_secs()).sum();
        assert!((20 * 86_400..22 * 86_400).contains(&total), "{total}");
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        for attempt in 1..=25 {
            for _ in 0..50 {
                let d = delayed_job_backoff(attempt);
                let base = delayed_job_base(attempt);
                assert!(d >= base && d <= base.mul_f64(1.1), "attempt {attempt}: {d:?}");
            }
        }
    }
}
