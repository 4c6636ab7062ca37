//! Claim check end to end through `ms-gateway` and its embedded S3 store:
//! a 5 MiB request and a 5 MiB reply between two services travel as
//! `payload_ref` and arrive verified; the handlers never see the difference.

use futures_util::StreamExt;
use ms_runtime::protocol::Json;
use ms_runtime::testing::{BUCKET, TestKit};
use ms_runtime::{Context, Handler, HandlerError, Request};

const BIG: usize = 5 * 1024 * 1024;

/// Sends 5 MiB to `mirror` and checks what comes back.
struct Sender;

impl Handler for Sender {
    fn name(&self) -> &str {
        "sender"
    }
    fn routes(&self) -> Vec<String> {
        vec!["go".into()]
    }
    async fn handle(&self, ctx: &Context, _request: Request) -> Result<Json, HandlerError> {
        let big = "s".repeat(BIG);
        let back: String = ctx.request("mirror", "reverse", &big).await?;
        ms_runtime::reply(&serde_json::json!({
            "sent": big.len(),
            "received": back.len(),
            "all_r": back.bytes().all(|b| b == b'r'),
        }))
    }
}

/// Answers a big string with a big string of the same length.
struct Mirror;

impl Handler for Mirror {
    fn name(&self) -> &str {
        "mirror"
    }
    fn routes(&self) -> Vec<String> {
        vec!["reverse".into()]
    }
    async fn handle(&self, _ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        let text: String = request.parse()?;
        if !text.bytes().all(|b| b == b's') {
            return Err(HandlerError::bad_request("payload corrupted in transit"));
        }
        ms_runtime::reply(&"r".repeat(text.len()))
    }
}

#[actix_rt::test]
async fn five_mib_payloads_travel_by_claim_check() -> Result<(), Box<dyn std::error::Error>> {
    let kit = TestKit::start().await?;
    kit.serve(Mirror).await?;
    kit.serve(Sender).await?;

    let answer = kit.invoke_http("sender", "go", "null").await?;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer: serde_json::Value = answer.json()?;
    assert_eq!(answer["sent"], BIG);
    assert_eq!(answer["received"], BIG);
    assert_eq!(answer["all_r"], true);

    // both 5 MiB payloads went through the store, not the websocket
    let claims: Vec<_> = kit.s3().list(BUCKET, "claims/", None).collect().await;
    assert_eq!(claims.len(), 2, "{claims:?}");
    kit.stop().await;
    Ok(())
}
