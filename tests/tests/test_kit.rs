//! The test kit (`ms_runtime::testing`) as a service's tests use it: a real
//! gateway and S3 store in process, a service served, called four ways.

use ms_runtime::protocol::ErrorCode;
use ms_runtime::s3::PutOptions;
use ms_runtime::testing::{BUCKET, TestKit};
use ms_runtime::{Context, HandlerError, ms_service};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Clone, Default)]
struct Archive {
    heard: Arc<AtomicUsize>,
}

#[derive(Serialize, Deserialize)]
struct Doc {
    name: String,
    text: String,
}

#[ms_service(name = "archive")]
impl Archive {
    /// Stores the text in S3 and answers the key.
    #[route("store")]
    async fn store(&self, ctx: &Context, doc: Doc) -> Result<String, HandlerError> {
        if doc.name.is_empty() {
            return Err(HandlerError::bad_request("a document needs a name"));
        }
        let s3 = ctx
            .s3()
            .ok_or_else(|| HandlerError::internal("no S3 configured"))?;
        let key = format!("docs/{}.txt", doc.name);
        s3.put_bytes(
            BUCKET,
            &key,
            doc.text.into_bytes().into(),
            PutOptions::default(),
        )
        .await
        .map_err(|e| HandlerError::internal(e.to_string()))?;
        Ok(key)
    }

    #[event("docs.audit")]
    async fn audit(&self, _ctx: &Context, _note: String) -> Result<(), HandlerError> {
        self.heard.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn doc(name: &str, text: &str) -> Doc {
    Doc {
        name: name.to_owned(),
        text: text.to_owned(),
    }
}

#[actix_rt::test]
async fn a_served_handler_answers_typed_calls_and_writes_to_the_kits_store()
-> Result<(), Box<dyn std::error::Error>> {
    let kit = TestKit::start().await?;
    kit.serve(Archive::default()).await?;
    let key: String = kit.call("archive", "store", &doc("a", "alpha")).await?;

    assert_eq!(key, "docs/a.txt");
    let stored = kit.s3().get_bytes(BUCKET, &key).await?;
    assert_eq!(&stored[..], b"alpha");
    kit.stop().await;
    Ok(())
}

#[actix_rt::test]
async fn handler_errors_come_back_with_their_code_over_both_edges()
-> Result<(), Box<dyn std::error::Error>> {
    let kit = TestKit::start().await?;
    kit.serve(Archive::default()).await?;

    let err = kit
        .call::<_, String>("archive", "store", &doc("", "x"))
        .await
        .expect_err("an empty name is refused");
    assert_eq!(err.code(), ErrorCode::BadRequest);

    let http = kit
        .invoke_http("archive", "store", r#"{"name":"","text":"x"}"#)
        .await?;
    assert_eq!(http.status, 400, "body: {}", http.body);
    let ok = kit
        .invoke_http("archive", "store", r#"{"name":"h","text":"via http"}"#)
        .await?;
    assert_eq!(
        (ok.status, ok.json::<String>()?),
        (200, "docs/h.txt".to_owned())
    );
    kit.stop().await;
    Ok(())
}

#[actix_rt::test]
async fn published_events_reach_the_served_handler() -> Result<(), Box<dyn std::error::Error>> {
    let kit = TestKit::start().await?;
    let archive = Archive::default();
    let heard = archive.heard.clone();
    kit.serve(archive).await?;

    kit.publish("docs.audit", "checked").await?;
    ms_tests::wait_until("the event", std::time::Duration::from_secs(10), || {
        heard.load(Ordering::SeqCst) == 1
    })
    .await;
    kit.stop().await;
    Ok(())
}

#[actix_rt::test]
async fn two_kits_share_nothing() -> Result<(), Box<dyn std::error::Error>> {
    let (one, two) = (TestKit::start().await?, TestKit::start().await?);
    assert_ne!(one.ws_url(), two.ws_url());
    one.serve(Archive::default()).await?;
    let _: String = one.call("archive", "store", &doc("only-one", "1")).await?;

    assert!(one.s3().exists(BUCKET, "docs/only-one.txt").await?);
    assert!(!two.s3().exists(BUCKET, "docs/only-one.txt").await?);
    one.stop().await;
    two.stop().await;
    Ok(())
}
