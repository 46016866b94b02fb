//! Retrying work that lost a race (a conditional write beaten by another, a cancelled
//! transaction): exponential backoff with full jitter, so that writers who collided once do not
//! collide again at the same instant.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use crate::error::ApiError;

/// How many times a read → compute → write is tried before the request gives up.
pub const ATTEMPTS: u32 = 12;
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

/// Waits before retry `attempt`.
pub async fn pause(attempt: u32) {
    tokio::time::sleep(delay(attempt)).await;
}

/// The attempts of one read → compute → write that may lose races:
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
#[derive(Debug, Default)]
pub struct Retries {
    tried: u32,
}

impl Retries {
    /// `Some(answer)` when `outcome` is the answer; `None`, after a jittered pause, when it lost a
    /// race ([`ApiError::Conflict`]) and should be tried again from a fresh read. After
    /// [`ATTEMPTS`] tries the conflict is the answer.
    pub async fn settle<T>(&mut self, outcome: Result<T, ApiError>) -> Option<Result<T, ApiError>> {
        match outcome {
            Err(ApiError::Conflict(_)) if self.tried + 1 < ATTEMPTS => {
                pause(self.tried).await;
                self.tried += 1;
                None
            }
            answer => Some(answer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn conflicts_are_tried_again_until_the_last_attempt() {
        use crate::error::Resource;
        let mut retries = Retries::default();
        let mut tries = 1;
        while retries
            .settle::<()>(Err(ApiError::Conflict(Resource::Customer)))
            .await
            .is_none()
        {
            tries += 1;
        }
        assert_eq!(tries, ATTEMPTS);
        let mut fresh = Retries::default();
        assert_eq!(fresh.settle(Ok(7)).await, Some(Ok(7)));
        let missing = ApiError::missing("name");
        assert_eq!(fresh.settle::<()>(Err(missing.clone())).await, Some(Err(missing)));
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
