//! Waiting for daemons (miners, keepers) that act on their own schedule.

use std::{
    future::Future,
    time::{Duration, Instant},
};

/// Polls `check` every 250 ms until it returns `Some`, for at most `limit`; panics naming
/// `what` when the time is up.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
