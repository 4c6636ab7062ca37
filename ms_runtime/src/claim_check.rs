//! Claim checks (protocol section 6): payloads over the threshold travel
//! through S3 as a `payload_ref`, uploaded before sending and fetched and
//! verified (size, sha256) before a handler sees them.

use crate::protocol::{ErrorCode, Json, Payload, WireError};
use crate::s3::{S3, S3Error};

/// Where and from what size payloads go by claim check.
#[derive(Clone, Debug)]
pub(crate) struct ClaimCheck {
    s3: S3,
    bucket: String,
    threshold: u64,
}

impl ClaimCheck {
    pub(crate) fn new(s3: S3, bucket: String, threshold: u64) -> Self {
        Self {
            s3,
            bucket,
            threshold,
        }
    }

    /// The payload to send for `json`: inline, or uploaded when bigger than
    /// the threshold.
    pub(crate) async fn outgoing(&self, json: Json) -> Result<Payload, S3Error> {
        if (json.len() as u64) <= self.threshold {
            return Ok(Payload::Inline(json));
        }
        self.s3
            .put_claim(&self.bucket, &json)
            .await
            .map(Payload::Ref)
    }
}

/// Sends `json` inline, or by claim check when `claims` is set and it is big.
pub(crate) async fn outgoing(
    claims: Option<&ClaimCheck>,
    json: Json,
) -> Result<Payload, WireError> {
    match claims {
        None => Ok(Payload::Inline(json)),
        Some(claims) => claims.outgoing(json).await.map_err(|e| {
            WireError::new(
                ErrorCode::Internal,
                format!("payload could not be stored in S3: {e}"),
            )
        }),
    }
}

/// The JSON of a received payload, fetching and verifying a claim check.
pub(crate) async fn incoming(s3: Option<&S3>, payload: Payload) -> Result<Json, WireError> {
    match payload {
        Payload::Inline(json) => Ok(json),
        Payload::Ref(reference) => {
            let Some(s3) = s3 else {
                return Err(WireError::new(
                    ErrorCode::Internal,
                    "a claim check (payload_ref) arrived but this service has no S3 store configured",
                ));
            };
            s3.fetch_claim(&reference).await.map_err(|e| match e {
                // the object is not what the reference promises: the sender's fault
                S3Error::Integrity { .. } => {
                    WireError::new(ErrorCode::BadRequest, format!("claim check rejected: {e}"))
                }
                other => WireError::new(
                    ErrorCode::Internal,
                    format!("claim check could not be fetched: {other}"),
                ),
            })
        }
    }
}
