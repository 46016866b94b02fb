//! Retrying work that lost a race (a conditional write beaten by another, a cancelled
//! transaction): exponential backoff with full jitter, so that writers who collided once do not
//! collide again at the same instant.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use tokio::time::Instant;

use crate::error::ApiError;

/// How long a request keeps retrying a read → compute → write that keeps losing races before it
/// answers 409: well inside the functions' 10 s timeout.
pub const REQUEST_BUDGET: Duration = Duration::from_secs(6);
/// How long a store retries one write that meets writes in flight on the same items, before it
/// lets the caller read again and decide anew.
pub const WRITE_BUDGET: Duration = Duration::from_secs(2);
/// The first backoff's ceiling.
const BASE: Duration = Duration::from_millis(8);
/// No backoff is longer than this.
const CAP: Duration = Duration::from_millis(400);

/// A uniformly random number below `bound` (from the standard library's per-instance random
/// hash keys: no random-number crate for one number per retry).
pub fn random_below(bound: u64) -> u64 {
    if bound == 0 {
        return 0;
    }
    RandomState::new().hash_one(0u8) % bound
}

/// The pause before retry `attempt` (0 for the first retry): uniform in
/// `[0, min(CAP, BASE * 2^attempt)]`.
pub fn delay(attempt: u32) -> Duration {
    let ceiling = BASE.saturating_mul(1 << attempt.min(16)).min(CAP);
    let micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
    Duration::from_micros(random_below(micros + 1))
}

/// The attempts of work that may lose races, within a time budget:
///
/// ```ignore
/// let mut retries = Retries::default();
/// let answer = loop {
///     let outcome = read_decide_write().await;
///     if let Some(answer) = retries.settle(outcome).await {
///         break answer;
///     }
/// };
/// ```
#[derive(Debug)]
pub struct Retries {
    tried: u32,
    deadline: Instant,
}

impl Default for Retries {
    /// A request's retries ([`REQUEST_BUDGET`]).
    fn default() -> Self {
        Retries::within(REQUEST_BUDGET)
    }
}

impl Retries {
    /// Retries until `budget` from now has passed.
    pub fn within(budget: Duration) -> Self {
        Retries {
            tried: 0,
            deadline: Instant::now() + budget,
        }
    }

    /// Pauses before the next attempt and answers `true`, or answers `false` if the next
    /// attempt would start after the deadline.
    pub async fn again(&mut self) -> bool {
        let pause = delay(self.tried);
        if Instant::now() + pause >= self.deadline {
            return false;
        }
        tokio::time::sleep(pause).await;
        self.tried += 1;
        crate::metrics::count_conflict_retry();
        true
    }

    /// `Some(answer)` when `outcome` is the answer; `None`, after a jittered pause, when it lost a
    /// race ([`ApiError::Conflict`]) and should be tried again from a fresh read. Once the budget
    /// is spent, the conflict is the answer.
    pub async fn settle<T>(&mut self, outcome: Result<T, ApiError>) -> Option<Result<T, ApiError>> {
        match outcome {
            Err(ApiError::Conflict(_)) if self.again().await => None,
            answer => Some(answer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn conflicts_are_tried_again_until_the_budget_is_spent() {
        use crate::error::Resource;
        let started = Instant::now();
        let mut retries = Retries::default();
        let mut tries = 1;
        while retries
            .settle::<()>(Err(ApiError::Conflict(Resource::Customer)))
            .await
            .is_none()
        {
            tries += 1;
        }
        assert!(tries > 12, "{tries} tries");
        assert!(started.elapsed() <= REQUEST_BUDGET, "{:?}", started.elapsed());
        let mut fresh = Retries::default();
        assert_eq!(fresh.settle(Ok(7)).await, Some(Ok(7)));
        let missing = ApiError::missing("name");
        assert_eq!(fresh.settle::<()>(Err(missing.clone())).await, Some(Err(missing)));
    }

    #[tokio::test(start_paused = true)]
    async fn every_retry_counts_in_the_request_metrics() {
        let (tries, tally) = crate::metrics::tallied(async {
            let mut retries = Retries::default();
            let mut tries = 0;
            while tries < 3 && retries.again().await {
                tries += 1;
            }
            tries
        })
        .await;
        assert_eq!((tries, tally.conflict_retries()), (3, 3));
    }

    #[test]
    fn delays_grow_to_the_cap_and_are_spread() {
        for attempt in 0..20 {
            let ceiling = BASE.saturating_mul(1 << attempt.min(16)).min(CAP);
            for _ in 0..50 {
                assert!(delay(attempt) <= ceiling, "attempt {attempt}");
            }
        }
        let spread: std::collections::HashSet<Duration> = (0..50).map(|_| delay(6)).collect();
        assert!(
            spread.len() > 10,
            "full jitter draws different pauses: {spread:?}"
        );
    }
}
