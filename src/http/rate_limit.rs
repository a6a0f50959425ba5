//! Rate limits: every API key, and every client address that sends none, gets a steady
//! allowance of requests per second with an equal burst. Past it, requests are answered
//! 429 with `Retry-After` until the allowance refills.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Weak};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use uuid::Uuid;

use crate::domain::error::{ApiError, ApiResult};
use crate::http::access::Caller;

/// The allowances, one bucket per key and per address.
pub struct RateLimits {
    per_key: Option<DefaultKeyedRateLimiter<Uuid>>,
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
}

impl RateLimits {
    /// Limits of `per_key` and `per_ip` requests per second; 0 turns one off.
    pub fn new(per_key: u32, per_ip: u32) -> Arc<RateLimits> {
        let limits = Arc::new(RateLimits {
            per_key: limiter(per_key),
            per_ip: limiter(per_ip),
            clock: DefaultClock::default(),
        });
        forget_idle_clients(Arc::downgrade(&limits));
        limits
    }

    /// Takes one request from the caller's allowance: its key's when it sent a valid
    /// one, else its address's when that is known.
    pub fn check(&self, caller: &Caller, ip: Option<IpAddr>) -> ApiResult<()> {
        let outcome = match (caller.key_id, ip) {
            (Some(key), _) => self.per_key.as_ref().map(|l| l.check_key(&key)),
            (None, Some(ip)) => self.per_ip.as_ref().map(|l| l.check_key(&ip)),
            (None, None) => None,
        };
        match outcome {
            Some(Err(not_until)) => Err(ApiError::too_many_requests(
                not_until.wait_time_from(self.clock.now()),
            )),
            _ => Ok(()),
        }
    }
}

fn limiter<K: Clone + Eq + std::hash::Hash>(rate: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(rate).map(|n| governor::RateLimiter::keyed(Quota::per_second(n)))
}

/// Drops the buckets of clients idle long enough to be full again, so that many
/// addresses passing through cannot grow memory without bound. Ends with the limits.
fn forget_idle_clients(limits: Weak<RateLimits>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            let Some(limits) = limits.upgrade() else {
                return;
            };
            if let Some(limiter) = &limits.per_key {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
            if let Some(limiter) = &limits.per_ip {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        }
    });
}
