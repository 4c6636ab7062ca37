//! Claim checks (protocol section 6): payloads over the threshold travel
//! through S3 as a `payload_ref`, uploaded before sending and fetched and
//! verified (size, sha256) before a handler sees them.
//!
//! A `payload_ref` is read only inside the claim locations this service
//! accepts (its own claim bucket and prefix, plus `MS_CLAIM_ACCEPT`): anyone
//! who may send a request could otherwise make the service read any object
//! its S3 credentials reach. Anything else is refused before any S3 call.
//!
//! Without the `s3` feature there is no store: payloads always go inline and
//! a received `payload_ref` is answered with [`ClaimError::Disabled`].

#[cfg(feature = "s3")]
use crate::config::ClaimLocation;
#[cfg(feature = "s3")]
use crate::metrics::Direction;
#[cfg(feature = "s3")]
use crate::protocol::PayloadRef;
use crate::protocol::{Json, Payload, WireError};
#[cfg(feature = "s3")]
use crate::{
    protocol::ErrorCode,
    s3::{S3, S3Error},
};

mod storage;

pub(crate) use storage::{Storage, open_storage};

/// Where and from what size payloads go by claim check, and where they may
/// be read from.
#[cfg(feature = "s3")]
#[derive(Clone, Debug)]
pub(crate) struct ClaimCheck {
    s3: S3,
    /// The bucket uploads go to (under the S3 handle's `claim_prefix`);
    /// `None`: payloads always go inline.
    bucket: Option<String>,
    /// Where incoming claim checks may be read from.
    accept: Vec<ClaimLocation>,
    threshold: u64,
}

/// Built without the `s3` feature: claim checks cannot exist, so no value
/// of this type can either.
#[cfg(not(feature = "s3"))]
#[derive(Clone, Debug)]
pub(crate) enum ClaimCheck {}

#[cfg(feature = "s3")]
impl ClaimCheck {
    pub(crate) fn new(
        s3: S3,
        bucket: Option<String>,
        accept: Vec<ClaimLocation>,
        threshold: u64,
    ) -> Self {
        Self {
            s3,
            bucket,
            accept,
            threshold,
        }
    }

    /// The payload to send for `json`: inline, or uploaded when bigger than
    /// the threshold and an upload bucket is known.
    pub(crate) async fn outgoing(&self, json: Json) -> Result<Payload, S3Error> {
        let Some(bucket) = self.bucket.as_deref() else {
            return Ok(Payload::Inline(json));
        };
        if (json.len() as u64) <= self.threshold {
            return Ok(Payload::Inline(json));
        }
        // boxed: the S3 future is large, and every handler's future would
        // carry (and move) its size even when no claim check is made
        let stored = Box::pin(self.s3.put_claim(bucket, &json)).await;
        self.count(
            Direction::Out,
            stored.as_ref().map(|_| ()).map_err(S3Error::kind),
        );
        stored.map(Payload::Ref)
    }

    /// Counts one claim check, when the S3 handle counts.
    fn count(&self, direction: Direction, result: Result<(), &'static str>) {
        if let Some(metrics) = self.s3.metrics() {
            metrics.claim(direction, result.err().unwrap_or("ok"));
        }
    }

    /// Fetches and verifies `reference` if it is inside an accepted location.
    async fn fetch(&self, reference: &PayloadRef) -> Result<Json, ClaimError> {
        let fetched = self.fetch_unmeasured(reference).await;
        let outcome = match &fetched {
            Ok(_) => Ok(()),
            Err(ClaimError::Outside) => Err("outside"),
            Err(ClaimError::NoStore) => Err("no_store"),
            Err(ClaimError::Rejected(_)) => Err("rejected"),
            Err(ClaimError::Unavailable(_)) => Err("unavailable"),
        };
        self.count(Direction::In, outcome);
        fetched
    }

    async fn fetch_unmeasured(&self, reference: &PayloadRef) -> Result<Json, ClaimError> {
        if !self.accept.iter().any(|l| l.contains(reference)) {
            return Err(ClaimError::Outside);
        }
        self.s3.fetch_claim(reference).await.map_err(|e| match e {
            // the object is not what the reference promises: the sender's fault
            S3Error::Integrity { .. } | S3Error::TooLarge { .. } => ClaimError::Rejected(e),
            // gone for good: waiting would not bring it back
            other if other.is_not_found() => ClaimError::Rejected(other),
            other => ClaimError::Unavailable(other),
        })
    }
}

/// Why a received payload could not be handed to a handler.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClaimError {
    /// The `payload_ref` names a place this service does not read claims from.
    #[cfg(feature = "s3")]
    #[error("claim check refused: payload_ref is outside the claim locations this service accepts")]
    Outside,
    /// A `payload_ref` arrived at a service without an S3 store.
    #[cfg(feature = "s3")]
    #[error("a claim check (payload_ref) arrived but this service has no S3 store configured")]
    NoStore,
    /// A `payload_ref` arrived at a service built without S3 support.
    #[cfg(not(feature = "s3"))]
    #[error(
        "a claim check (payload_ref) arrived but this service was built without the `s3` feature of ms_runtime"
    )]
    Disabled,
    /// The object is not what the reference promises.
    #[cfg(feature = "s3")]
    #[error("claim check rejected: {0}")]
    Rejected(S3Error),
    /// The store could not be read (down, timeout, not found, ...).
    #[cfg(feature = "s3")]
    #[error("claim check could not be fetched: {0}")]
    Unavailable(S3Error),
}

impl ClaimError {
    /// True when the same message may succeed later: an event stays unacked.
    pub(crate) fn is_transient(&self) -> bool {
        #[cfg(feature = "s3")]
        return matches!(self, Self::Unavailable(_));
        #[cfg(not(feature = "s3"))]
        return false;
    }
}

/// Sends `json` inline, or by claim check when `claims` is set and it is big.
pub(crate) async fn outgoing(
    claims: Option<&ClaimCheck>,
    json: Json,
) -> Result<Payload, WireError> {
    match claims {
        None => Ok(Payload::Inline(json)),
        #[cfg(not(feature = "s3"))]
        Some(never) => match *never {},
        #[cfg(feature = "s3")]
        Some(claims) => claims.outgoing(json).await.map_err(|e| {
            WireError::new(
                ErrorCode::Internal,
                format!("payload could not be stored in S3: {e}"),
            )
        }),
    }
}

/// The JSON of a received payload, fetching and verifying a claim check
/// found inside an accepted location.
pub(crate) async fn incoming(
    claims: Option<&ClaimCheck>,
    payload: Payload,
) -> Result<Json, ClaimError> {
    match payload {
        Payload::Inline(json) => Ok(json),
        #[cfg(feature = "s3")]
        Payload::Ref(reference) => match claims {
            None => Err(ClaimError::NoStore),
            // boxed, as in `ClaimCheck::outgoing`
            Some(claims) => Box::pin(claims.fetch(&reference)).await,
        },
        #[cfg(not(feature = "s3"))]
        Payload::Ref(_) => {
            // no store can exist in this build: there is nothing to ask
            let _ = claims;
            Err(ClaimError::Disabled)
        }
    }
}

#[cfg(all(test, not(feature = "s3")))]
mod disabled_tests {
    use super::*;
    use crate::protocol::PayloadRef;

    #[test]
    fn a_payload_ref_without_the_s3_feature_is_a_permanent_error_naming_it() {
        let reference = PayloadRef {
            bucket: "claims".into(),
            key: "claims/a.json".into(),
            size: 1,
            sha256: "0".repeat(64),
            content_type: None,
        };
        let refused =
            futures_util::FutureExt::now_or_never(incoming(None, Payload::Ref(reference)));
        let Some(Err(error)) = refused else {
            panic!("a payload_ref must be refused at once");
        };
        let wire = error.to_wire();
        assert!(!wire.retryable);
        assert!(wire.message.contains("`s3` feature"), "{}", wire.message);
    }
}

#[cfg(all(test, feature = "s3"))]
mod tests {
    use super::*;

    fn reference(bucket: &str, key: &str) -> PayloadRef {
        PayloadRef {
            bucket: bucket.into(),
            key: key.into(),
            size: 1,
            sha256: "0".repeat(64),
            content_type: None,
        }
    }

    #[test]
    fn a_location_holds_its_prefix_only() {
        let claims = ClaimLocation::new("claims", "claims/");
        assert!(claims.contains(&reference("claims", "claims/a.json")));
        assert!(!claims.contains(&reference("claims", "claimsX/a.json")));
        assert!(!claims.contains(&reference("claims", "private/config.json")));
        assert!(!claims.contains(&reference("other", "claims/a.json")));
        for walk in [
            "claims/../x",
            "claims/./a",
            "claims/a/..",
            "claims/a\\..\\b",
            "claims/\n",
        ] {
            assert!(!claims.contains(&reference("claims", walk)), "{walk:?}");
        }
        let bucket = ClaimLocation::new("claims", "");
        assert!(bucket.contains(&reference("claims", "anything.json")));
    }

    #[test]
    fn locations_parse_as_bucket_slash_prefix() {
        let parsed: ClaimLocation = " shared-claims/in/ ".parse().unwrap();
        assert_eq!(parsed, ClaimLocation::new("shared-claims", "in/"));
        assert_eq!(parsed.to_string(), "shared-claims/in/");
        let whole: ClaimLocation = "shared-claims/".parse().unwrap();
        assert_eq!(whole.prefix, "");
        for bad in ["", "claims", "Claims/x", "ab/x", "claims/../x", "/x"] {
            assert!(bad.parse::<ClaimLocation>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refusals_are_permanent_and_outages_transient() {
        assert_eq!(ClaimError::Outside.to_wire().code, ErrorCode::BadRequest);
        assert!(!ClaimError::Outside.is_transient());
        assert!(!ClaimError::NoStore.to_wire().retryable);
        let down = ClaimError::Unavailable(S3Error::Stopped);
        assert!(down.is_transient() && down.to_wire().retryable);
        assert_eq!(down.to_wire().code, ErrorCode::Internal);
    }
}
