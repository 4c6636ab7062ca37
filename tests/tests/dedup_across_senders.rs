//! Threat: one account reads another's answers from the dedup memory by
//! reusing its request ids. A scripted gateway delivers id X from `a/1`,
//! then the same id X from `b/1`: the handler runs again for `b/1`, which
//! never receives `a/1`'s answer; a redelivery from `a/1` is still answered
//! from memory (docs/protocol.md section 4: the key is (`from`, `id`)).

mod scripted;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ms_runtime::protocol::{Body, Envelope, Json, Payload};
use ms_runtime::{Config, Context, Handler, HandlerError, Service};
use ms_tests::fast_tuning;
use scripted::{accept, delivery, listen, send, settlement_of};

/// Answers each run with its run number and the caller it was told.
struct Secretive {
    runs: Arc<AtomicUsize>,
}

impl Handler for Secretive {
    fn name(&self) -> &str {
        "secretive"
    }
    fn routes(&self) -> Vec<String> {
        vec!["card".into()]
    }
    async fn handle(
        &self,
        _ctx: &Context,
        request: ms_runtime::Request,
    ) -> Result<Json, HandlerError> {
        let run = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
        ms_runtime::reply(&serde_json::json!({
            "run": run,
            "for": request.from,
        }))
    }
}

fn request(id: &str, from: &str, attempt: u32) -> Envelope {
    delivery(
        id,
        "secretive",
        "card",
        from,
        attempt,
        Payload::Inline(Json::null()),
    )
}

fn answer(settlement: &Envelope) -> serde_json::Value {
    let Body::Reply(reply) = &settlement.body else {
        panic!("expected a reply, got {settlement:?}")
    };
    let Payload::Inline(json) = &reply.payload else {
        panic!("expected an inline payload")
    };
    json.parse().expect("a JSON answer")
}

#[actix_rt::test]
async fn the_same_id_from_another_sender_runs_as_a_new_request() {
    let (listener, url) = listen().await;
    let runs = Arc::new(AtomicUsize::new(0));
    let config = Config::builder()
        .gateway_url(url)
        .log_level("critical")
        .tuning(fast_tuning())
        .build()
        .unwrap();
    let service = Service::start(config, Secretive { runs: runs.clone() })
        .await
        .unwrap();
    let mut peer = accept(&listener, "s1", None).await;

    let victim = request("req-42", "a/1", 1);
    send(&mut peer, &victim).await;
    let first = settlement_of(&mut peer, &victim.id).await;
    assert_eq!(answer(&first)["for"], "a/1");

    // the attacker reuses the victim's id
    send(&mut peer, &request("req-42", "b/1", 1)).await;
    let second = settlement_of(&mut peer, &victim.id).await;
    assert_ne!(second.id, first.id, "b/1 got a/1's cached answer frame");
    assert_eq!(answer(&second)["for"], "b/1", "b/1 got a/1's answer");
    assert_eq!(answer(&second)["run"], 2);
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "the handler must run for b/1"
    );

    // a real redelivery to a/1 is still answered from memory, not run again
    send(&mut peer, &request("req-42", "a/1", 2)).await;
    let again = settlement_of(&mut peer, &victim.id).await;
    assert_eq!(again.id, first.id);
    assert_eq!(answer(&again)["run"], 1);
    assert_eq!(runs.load(Ordering::SeqCst), 2);

    drop(peer);
    service.shutdown().await;
}
