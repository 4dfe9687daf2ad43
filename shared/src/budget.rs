//! The time an invocation has left. Each function learns its deadline from
//! the Lambda context (or, outside Lambda, from its configured timeout) and
//! runs its work inside [`scope`]; every outbound HTTP call then takes
//! `min(its own timeout, what is left − CALL_MARGIN)` ([`for_call`]) and no
//! retry waits past the deadline, so the function still has time to answer.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Kept back after the last outbound call: time to write down its outcome
/// and to answer.
pub const CALL_MARGIN: Duration = Duration::from_millis(1500);
/// An attempt with less time than this is not started: it could not finish.
pub const MIN_ATTEMPT: Duration = Duration::from_millis(200);
/// When a handler stops waiting and answers that time ran out (504), before
/// Lambda's own timeout does.
pub const ANSWER_MARGIN: Duration = Duration::from_millis(500);
/// The longest one DynamoDB, KMS or Secrets Manager call may take, all its
/// attempts included (set on the SDK configuration at start-up).
pub const AWS_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The function timeouts in `template.yaml`, all under API Gateway's 30 s
/// integration limit (a test compares them with the template).
pub mod timeouts {
    use std::time::Duration;

    pub const AUTH_CHECK: Duration = Duration::from_secs(10);
    /// A sync discovers every region's profiles and accounts.
    pub const USERS: Duration = Duration::from_secs(20);
    pub const CLERK_WEBHOOK: Duration = Duration::from_secs(10);
    pub const OAUTH_START: Duration = Duration::from_secs(10);
    /// The completion discovers every region; 5 s of API Gateway's 30 are
    /// left for the authorizer in front of it.
    pub const OAUTH_CALLBACK: Duration = Duration::from_secs(25);
    /// One Ads API call (up to 20 s) plus a refresh, under API Gateway's 30 s.
    pub const ADS_PROXY: Duration = Duration::from_secs(25);
    /// The credentials function may refresh a token.
    pub const CREDENTIALS: Duration = Duration::from_secs(10);
}

/// Runs `work` with `deadline` as the time every call inside must respect.
pub async fn scope<F: Future>(deadline: Instant, work: F) -> F::Output {
    DEADLINE.scope(deadline, work).await
}

/// The deadline of the current scope, if any.
pub fn deadline() -> Option<Instant> {
    DEADLINE.try_with(|d| *d).ok()
}

/// Lambda's longest timeout: a deadline further off (either way) is none
/// Lambda gave, e.g. the zero of a context without one, or the constant
/// 600,000 ms after the epoch that `cargo lambda watch` sends.
const MAX_LAMBDA_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// A Lambda deadline (wall clock) as an `Instant`; `None` for one no
/// Lambda invocation can have.
pub fn instant_of(deadline: SystemTime) -> Option<Instant> {
    let now = SystemTime::now();
    match deadline.duration_since(now) {
        Ok(left) if left <= MAX_LAMBDA_TIMEOUT => Some(Instant::now() + left),
        Ok(_) => None,
        // Already past (a clock a little off): answer at once.
        Err(past) if past.duration() <= MAX_LAMBDA_TIMEOUT => Some(Instant::now()),
        Err(_) => None,
    }
}

/// What is left for outbound calls: the time to the deadline less
/// [`CALL_MARGIN`]; unlimited outside a scope.
pub fn left() -> Option<Duration> {
    deadline().map(|d| {
        d.saturating_duration_since(Instant::now())
            .saturating_sub(CALL_MARGIN)
    })
}

/// The time out for one attempt of a call whose own limit is `timeout`;
/// `None` when too little is left to start one.
pub fn for_call(timeout: Duration) -> Option<Duration> {
    match left() {
        None => Some(timeout),
        Some(left) if left < MIN_ATTEMPT => None,
        Some(left) => Some(timeout.min(left)),
    }
}

/// Whether a pause of `wait` still leaves time for another attempt.
pub fn can_wait(wait: Duration) -> bool {
    left().is_none_or(|left| left >= wait + MIN_ATTEMPT)
}

/// When a handler must stop waiting to answer in time.
pub fn answer_by() -> Option<Instant> {
    deadline().map(|d| d.checked_sub(ANSWER_MARGIN).unwrap_or(d))
}

/// Waits for `work` until `cutoff` (`None`: however long it takes); `None`
/// when the cutoff came first (the work is dropped unfinished).
pub async fn until<T>(cutoff: Option<Instant>, work: impl Future<Output = T>) -> Option<T> {
    match cutoff {
        Some(at) => tokio::time::timeout_at(at.into(), work).await.ok(),
        None => Some(work.await),
    }
}

/// Whether work expected to take `expected` still ends before the handler
/// must answer (always, outside a scope).
pub fn fits(expected: Duration) -> bool {
    answer_by().is_none_or(|at| Instant::now() + expected <= at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_gets_what_is_left_less_the_margin() {
        let deadline = Instant::now() + Duration::from_secs(4);
        scope(deadline, async {
            let t = for_call(Duration::from_secs(5)).unwrap();
            assert!(t <= Duration::from_millis(2500) && t > Duration::from_secs(2));
            assert_eq!(
                for_call(Duration::from_secs(1)),
                Some(Duration::from_secs(1))
            );
            assert!(can_wait(Duration::from_secs(2)));
            assert!(!can_wait(Duration::from_secs(3)));
        })
        .await;
    }

    #[tokio::test]
    async fn nothing_starts_when_the_margin_is_all_that_is_left() {
        scope(Instant::now() + CALL_MARGIN, async {
            assert_eq!(for_call(Duration::from_secs(5)), None);
        })
        .await;
        assert_eq!(
            for_call(Duration::from_secs(5)),
            Some(Duration::from_secs(5))
        );
    }

    #[tokio::test]
    async fn work_fits_when_it_ends_before_the_answer_is_due() {
        assert!(fits(Duration::from_secs(3600)), "no scope: no limit");
        scope(Instant::now() + Duration::from_secs(3), async {
            assert!(fits(Duration::from_secs(2)));
            assert!(
                !fits(Duration::from_millis(2600)),
                "the answer's margin is kept"
            );
        })
        .await;
    }

    #[test]
    fn a_context_without_a_real_deadline_sets_none() {
        assert_eq!(instant_of(SystemTime::UNIX_EPOCH), None);
        let cargo_lambda = SystemTime::UNIX_EPOCH + Duration::from_millis(600_000);
        assert_eq!(instant_of(cargo_lambda), None);
        let later = instant_of(SystemTime::now() + Duration::from_secs(3)).unwrap();
        assert!(later > Instant::now() + Duration::from_secs(2));
    }
}
