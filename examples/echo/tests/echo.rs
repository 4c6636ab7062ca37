//! The echo service through a real gateway (the test kit): payloads come back
//! byte for byte, small, odd and bigger than the claim-check threshold.

use example_echo::Echo;
use futures_util::StreamExt;
use ms_runtime::testing::{BUCKET, TestKit};
use serde_json::{Value, json};

#[actix_rt::test]
async fn echo_returns_every_payload_unchanged() -> Result<(), Box<dyn std::error::Error>> {
    let kit = TestKit::start().await?;
    kit.serve(Echo).await?;

    let big = "x".repeat(2 * 1024 * 1024); // over the 1 MiB claim-check threshold
    for payload in [
        json!(null),
        json!("zoë ✓"),
        json!({"nested": [1, 2.5, {"deep": true}], "empty": {}}),
        json!({"big": big}),
    ] {
        let back: Value = kit.call("echo", "echo", &payload).await?;
        assert_eq!(back, payload);
    }
    // the big one went out and came back by claim check: two objects in S3
    let claims = kit.s3().list(BUCKET, "claims/", None).count().await;
    assert_eq!(claims, 2, "one claim check each way");

    let http = kit
        .invoke_http("echo", "echo", r#"{"spacing" :  [1,2]}"#)
        .await?;
    assert_eq!(
        (http.status, http.body.as_str()),
        (200, r#"{"spacing" :  [1,2]}"#),
        "the HTTP edge returns the raw JSON text, spacing included"
    );
    kit.stop().await;
    Ok(())
}
