//! A `#[ms_service]` service answers through `ms-gateway`: each route gets
//! its own typed payload (with or without `&Context`), a payload that does
//! not fit is a 400 naming the route, a `Json` payload passes through byte
//! for byte, and the generated `Handler` lists the routes and the version.

use ms_runtime::protocol::Json;
use ms_runtime::{Context, Handler, HandlerError, ms_service};
use ms_tests::{invoke, invoke_with, serve};

struct Words;

#[ms_service(name = "words", version = "3.1.4")]
impl Words {
    #[route("upper")]
    async fn upper(&self, text: String) -> Result<String, HandlerError> {
        Ok(text.to_uppercase())
    }

    #[route("repeat")]
    async fn repeat(
        &self,
        ctx: &Context,
        (text, times): (String, usize),
    ) -> Result<Vec<String>, HandlerError> {
        slog::debug!(ctx.log(), "repeating"; "times" => times);
        Ok(vec![text; times])
    }

    #[route("trace")]
    async fn trace(&self, ctx: &Context) -> Result<Option<String>, HandlerError> {
        Ok(ctx.trace_id().map(str::to_owned))
    }

    #[route("raw")]
    async fn raw(&self, payload: Json) -> Result<Json, HandlerError> {
        Ok(payload)
    }

    #[route("refuse")]
    async fn refuse(&self, reason: String) -> Result<(), HandlerError> {
        Err(HandlerError::new(reason))
    }

    /// Not a route: plain methods stay plain.
    fn helper(&self) -> usize {
        7
    }
}

#[test]
fn the_generated_handler_lists_routes_and_version() {
    assert_eq!(Words.name(), "words");
    assert_eq!(Words.version(), "3.1.4");
    assert_eq!(
        Words.routes(),
        ["upper", "repeat", "trace", "raw", "refuse"]
    );
    assert!(Words.topics().is_empty());
    assert_eq!(Words.helper(), 7);
}

#[actix_rt::test]
async fn routes_dispatch_typed_payloads_through_the_gateway() {
    let kit = serve(Words, 8).await;
    let url = kit.http_url().to_owned();

    let (status, body) = invoke(&url, "words", "upper", r#""hello""#, 5_000).await;
    assert_eq!((status, body.as_str()), (200, r#""HELLO""#));

    let (status, body) = invoke(&url, "words", "repeat", r#"["ab", 3]"#, 5_000).await;
    assert_eq!((status, body.as_str()), (200, r#"["ab","ab","ab"]"#));

    let ((status, body), _) = invoke_with(
        &url,
        "words",
        "trace",
        "null",
        5_000,
        &[("x-trace-id", "t-macro")],
    )
    .await;
    assert_eq!((status, body.as_str()), (200, r#""t-macro""#));

    let raw = r#"{ "keep" :  [1, 2.50, "spaces"] }"#;
    let (status, body) = invoke(&url, "words", "raw", raw, 5_000).await;
    assert_eq!((status, body.as_str()), (200, raw));

    // a payload that does not fit the route's type is the caller's fault
    let (status, body) = invoke(&url, "words", "upper", "42", 5_000).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("payload of route `upper` does not fit")
            && body.contains("expected a string"),
        "{body}"
    );
    let (status, body) = invoke(&url, "words", "repeat", r#"["ab"]"#, 5_000).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("payload of route `repeat` does not fit"),
        "{body}"
    );

    // the method's own error reaches the caller as a handler error
    let (status, body) = invoke(&url, "words", "refuse", r#""not today""#, 5_000).await;
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("not today"), "{body}");

    kit.stop().await;
}
