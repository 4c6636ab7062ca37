//! Every form the macro accepts, in a crate that denies warnings.
#![deny(warnings)]

use std::sync::Arc;

use ms_runtime::protocol::Json;
use ms_runtime::{Context, Handler, HandlerError, ms_service};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct ExtractRequest {
    page: u32,
}

#[derive(Serialize)]
struct ExtractReply {
    text: String,
}

#[derive(Deserialize)]
struct Uploaded {
    key: String,
}

#[derive(Clone)]
struct Ocr {
    model: Arc<String>,
}

#[ms_service(name = "ocr", version = "1.2.0")]
impl Ocr {
    #[route("extract")]
    async fn extract(&self, ctx: &Context, req: ExtractRequest) -> Result<ExtractReply, HandlerError> {
        Ok(ExtractReply { text: format!("{} page {}", ctx.route(), req.page) })
    }

    #[route("fast", timeout = "5s", max_in_flight = 4)]
    async fn fast(&self, req: ExtractRequest) -> Result<u32, HandlerError> {
        Ok(req.page)
    }

    #[route("slow", timeout = "2m")]
    async fn slow(&self, ctx: &ms_runtime::Context) -> Result<(), HandlerError> {
        let _ = ctx.time_left();
        Ok(())
    }

    #[route("raw", timeout = "250ms")]
    async fn raw(&self, payload: Json) -> Result<Json, HandlerError> {
        Ok(payload)
    }

    #[route("infer", blocking, timeout = "30s", max_in_flight = 2)]
    fn infer(&self, req: ExtractRequest) -> Result<String, HandlerError> {
        Ok(format!("{} on page {}", self.model, req.page))
    }

    #[route("health", blocking)]
    fn health(&self) -> Result<bool, HandlerError> {
        Ok(true)
    }

    #[event("documents.uploaded")]
    async fn on_upload(&self, ctx: &Context, ev: Uploaded) -> Result<(), HandlerError> {
        let _ = (ctx.route(), ev.key);
        Ok(())
    }

    #[event("documents.deleted")]
    async fn on_delete(&self) -> Result<(), HandlerError> {
        Ok(())
    }
}

fn main() {
    let ocr = Ocr { model: Arc::new("tiny".to_owned()) };
    assert_eq!(ocr.name(), "ocr");
    assert_eq!(ocr.version(), "1.2.0");
    assert_eq!(ocr.routes(), ["extract", "fast", "slow", "raw", "infer", "health"]);
    assert_eq!(ocr.topics(), ["documents.uploaded", "documents.deleted"]);
}
