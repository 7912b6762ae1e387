//! Latency statistics: mean and nearest-rank percentiles over a run's samples.

use std::time::Duration;

use serde::Serialize;

/// Summary of one run's latencies, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Latency {
    /// Number of samples.
    pub count: usize,
    /// Arithmetic mean.
    pub mean_ms: f64,
    /// Median (nearest rank).
    pub p50_ms: f64,
    /// 99th percentile (nearest rank).
    pub p99_ms: f64,
    /// Largest sample.
    pub max_ms: f64,
}

/// The `p`-th percentile (0 ..= 100) of `sorted` by the nearest-rank method: the
/// smallest sample such that at least `p` % of the samples are at or below it. `None`
/// for no samples. Nearest rank never interpolates, so the answer is always a latency
/// that was measured.
///
/// `sorted` must be in ascending order.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let p = p.clamp(0.0, 100.0);
    // rank in 1..=n; p = 0 takes the smallest sample.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Summarises `samples` (sorted in place). `None` for no samples.
pub fn summarize(samples: &mut [Duration]) -> Option<Latency> {
    samples.sort_unstable();
    let p50 = percentile(samples, 50.0)?;
    let p99 = percentile(samples, 99.0)?;
    let max = *samples.last()?;
    let total: Duration = samples.iter().sum();
    Some(Latency {
        count: samples.len(),
        mean_ms: ms(total) / samples.len() as f64,
        p50_ms: ms(p50),
        p99_ms: ms(p99),
        max_ms: ms(max),
    })
}

/// Events per second over `elapsed`; 0 when nothing elapsed.
pub fn rate(count: usize, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn percentile_uses_nearest_rank_without_interpolating() {
        let sorted = millis(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(percentile(&sorted, 50.0), Some(Duration::from_millis(5)));
        // 99 % of 10 samples is rank 9.9 -> 10: the largest.
        assert_eq!(percentile(&sorted, 99.0), Some(Duration::from_millis(10)));
        assert_eq!(percentile(&sorted, 0.0), Some(Duration::from_millis(1)));
        assert_eq!(percentile(&sorted, 100.0), Some(Duration::from_millis(10)));
        // 91 % -> rank 9.1 -> 10; 90 % -> rank 9.
        assert_eq!(percentile(&sorted, 90.0), Some(Duration::from_millis(9)));
        assert_eq!(percentile(&sorted, 91.0), Some(Duration::from_millis(10)));
    }

    #[test]
    fn percentile_of_nothing_is_none_and_of_one_is_that_one() {
        assert_eq!(percentile(&[], 50.0), None);
        let one = millis(&[7]);
        assert_eq!(percentile(&one, 1.0), Some(Duration::from_millis(7)));
        assert_eq!(percentile(&one, 99.0), Some(Duration::from_millis(7)));
    }

    #[test]
    fn p99_of_a_hundred_samples_ignores_the_single_outlier() {
        let mut samples: Vec<Duration> = (0..99).map(|_| Duration::from_millis(2)).collect();
        samples.push(Duration::from_millis(500));
        let summary = summarize(&mut samples).unwrap();
        assert_eq!(summary.count, 100);
        assert_eq!(summary.p99_ms, 2.0);
        assert_eq!(summary.max_ms, 500.0);
        // (99 * 2 + 500) / 100
        assert!((summary.mean_ms - 6.98).abs() < 1e-9);
    }

    #[test]
    fn summarize_sorts_its_input_and_rate_handles_zero_time() {
        let mut samples = millis(&[30, 10, 20]);
        let summary = summarize(&mut samples).unwrap();
        assert_eq!(samples, millis(&[10, 20, 30]));
        assert_eq!(summary.p50_ms, 20.0);
        assert!(summarize(&mut []).is_none());
        assert_eq!(rate(10, Duration::ZERO), 0.0);
        assert_eq!(rate(10, Duration::from_millis(500)), 20.0);
    }
}
