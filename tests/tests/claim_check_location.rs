//! Threat: a caller makes a service read any object its S3 credentials
//! reach by naming it in `payload_ref`, and learns an object's size and
//! digest from the integrity error. A scripted gateway delivers requests
//! whose claim checks point at real objects in the kit's S3 store: another
//! bucket, another prefix, a `..` walk out of the prefix (all refused
//! `bad_request` before any read, the handler never runs), and a
//! reference inside the claim location with a wrong size or digest (the
//! error names the check, never what was found). docs/protocol.md section 6.

mod scripted;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ms_runtime::protocol::{
    Body, Envelope, ErrorCode, Json, MessageId, Payload, PayloadRef, Request,
};
use ms_runtime::s3::PutOptions;
use ms_runtime::testing::{BUCKET, TestKit};
use ms_runtime::{Context, Handler, HandlerError, Service};
use scripted::{accept, listen, send, settlement_of};

const OTHER_BUCKET: &str = "private-data";

/// Answers with the size of the payload it was handed.
struct Reader {
    runs: Arc<AtomicUsize>,
}

impl Handler for Reader {
    fn name(&self) -> &str {
        "reader"
    }
    fn routes(&self) -> Vec<String> {
        vec!["read".into()]
    }
    async fn handle(
        &self,
        _ctx: &Context,
        request: ms_runtime::Request,
    ) -> Result<Json, HandlerError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        ms_runtime::reply(&request.payload.len())
    }
}

fn request(n: u32, reference: &PayloadRef) -> Envelope {
    Envelope {
        id: MessageId::new(format!("req-{n}")).expect("valid id"),
        headers: Default::default(),
        body: Body::Request(Request {
            to: "reader".into(),
            route: "read".into(),
            from: Some("attacker/1".into()),
            payload: Payload::Ref(reference.clone()),
        }),
    }
}

#[actix_rt::test]
async fn claim_checks_outside_the_claim_location_are_refused_unread() {
    let kit = TestKit::start().await.unwrap();
    let s3 = kit.s3();
    s3.ensure_bucket(OTHER_BUCKET).await.unwrap();
    // a secret of a telling size, stored where the service must not read
    let secret =
        Json::from_value(&format!("card 4111 1111 1111 1111 {}", "x".repeat(4_000))).unwrap();
    let size = secret.len().to_string();
    let other_bucket = s3.put_claim(OTHER_BUCKET, &secret).await.unwrap();
    let bytes = secret.as_str().to_owned().into();
    s3.put_bytes(BUCKET, "private/config.json", bytes, PutOptions::new())
        .await
        .unwrap();
    let other_prefix = PayloadRef {
        bucket: BUCKET.into(),
        key: "private/config.json".into(),
        ..other_bucket.clone()
    };
    let walk = PayloadRef {
        key: "claims/../private/config.json".into(),
        ..other_prefix.clone()
    };
    let inside = s3.put_claim(BUCKET, &secret).await.unwrap();

    let (listener, url) = listen().await;
    let config = kit
        .config_builder("reader")
        .gateway_url(url)
        .build()
        .unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let service = Service::start(config, Reader { runs: runs.clone() })
        .await
        .unwrap();
    let mut peer = accept(&listener, "s1", None).await;

    for (n, reference) in [(1, &other_bucket), (2, &other_prefix), (3, &walk)] {
        let refused = request(n, reference);
        send(&mut peer, &refused).await;
        let answer = settlement_of(&mut peer, &refused.id).await;
        let Body::Error(report) = &answer.body else {
            panic!("{reference:?} was read: {answer:?}")
        };
        assert_eq!(report.error.code, ErrorCode::BadRequest, "{report:?}");
        assert!(report.error.message.contains("outside"), "{report:?}");
        assert!(!report.error.retryable);
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        0,
        "a handler saw a refused payload"
    );

    // inside the location: integrity errors name the check, not what was found
    let wrong_size = PayloadRef {
        size: inside.size + 1,
        ..inside.clone()
    };
    let wrong_digest = PayloadRef {
        sha256: "0".repeat(64),
        ..inside.clone()
    };
    for (n, reference, check) in [(4, &wrong_size, "size"), (5, &wrong_digest, "sha256")] {
        let bad = request(n, reference);
        send(&mut peer, &bad).await;
        let answer = settlement_of(&mut peer, &bad.id).await;
        let Body::Error(report) = &answer.body else {
            panic!("a broken claim check was accepted: {answer:?}")
        };
        let message = &report.error.message;
        assert_eq!(report.error.code, ErrorCode::BadRequest, "{report:?}");
        assert!(message.contains(check), "{message}");
        assert!(!message.contains(&size), "the real size leaked: {message}");
        assert!(
            !message.contains(&inside.sha256),
            "the real digest leaked: {message}"
        );
    }

    // and a good one is read and handed over
    let good = request(6, &inside);
    send(&mut peer, &good).await;
    let answer = settlement_of(&mut peer, &good.id).await;
    assert!(matches!(answer.body, Body::Reply(_)), "{answer:?}");
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    drop(peer);
    service.shutdown().await;
    kit.stop().await;
}
