//! `#[event("topic")]` methods subscribe the service to their topics and
//! receive each event's payload deserialised into their type; an event
//! whose payload does not fit is refused before the method runs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ms_runtime::{Context, HandlerError, ms_service};
use ms_tests::{PASSWORD, USER, serve, wait_until};

struct Archive {
    uploaded: Arc<Mutex<Vec<String>>>,
    deleted: Arc<Mutex<Vec<u64>>>,
}

#[ms_service(name = "archive")]
impl Archive {
    #[event("documents.uploaded")]
    async fn on_upload(&self, ctx: &Context, key: String) -> Result<(), HandlerError> {
        assert_eq!(ctx.route(), "documents.uploaded");
        self.uploaded.lock().expect("not poisoned").push(key);
        Ok(())
    }

    #[event("documents.deleted")]
    async fn on_delete(&self, id: u64) -> Result<(), HandlerError> {
        self.deleted.lock().expect("not poisoned").push(id);
        Ok(())
    }

    #[route("count")]
    async fn count(&self) -> Result<usize, HandlerError> {
        Ok(self.uploaded.lock().expect("not poisoned").len())
    }
}

async fn publish(http_url: &str, topic: &str, body: &str) -> u16 {
    awc::Client::default()
        .post(format!("{http_url}/v1/publish/{topic}"))
        .basic_auth(USER, PASSWORD)
        .insert_header(("content-type", "application/json"))
        .send_body(body.to_owned())
        .await
        .map_or(0, |response| response.status().as_u16())
}

#[actix_rt::test]
async fn events_reach_their_methods_with_typed_payloads() {
    let uploaded = Arc::new(Mutex::new(Vec::new()));
    let deleted = Arc::new(Mutex::new(Vec::new()));
    let handler = Archive {
        uploaded: uploaded.clone(),
        deleted: deleted.clone(),
    };
    let kit = serve(handler, 8).await;
    let url = kit.http_url().to_owned();

    // does not fit `u64`: refused before `on_delete` runs
    assert_eq!(publish(&url, "documents.deleted", r#""seven""#).await, 202);
    assert_eq!(publish(&url, "documents.uploaded", r#""a.pdf""#).await, 202);
    assert_eq!(publish(&url, "documents.deleted", "7").await, 202);

    wait_until("both events handled", Duration::from_secs(10), || {
        uploaded.lock().unwrap().len() == 1 && deleted.lock().unwrap().len() == 1
    })
    .await;
    assert_eq!(*uploaded.lock().unwrap(), ["a.pdf"]);
    assert_eq!(*deleted.lock().unwrap(), [7]);

    kit.stop().await;
}
