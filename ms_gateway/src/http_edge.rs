//! The HTTP side of the gateway: the websocket upgrade and the HTTP edge
//! for callers that are not services (PROTOCOL.md section 7).

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt as _;
use ms_protocol::{Envelope, ErrorCode, Headers, Json, Payload, Request, WireError};

use crate::auth::{Principal, Users};
use crate::hub::{Hub, now_ms};
use crate::router::Outcome;
use crate::session::{self, SessionLimits};

/// Deadline of an invocation without `X-Timeout-Ms`.
pub const DEFAULT_INVOKE_TIMEOUT_MS: u64 = 30_000;

/// What every handler needs, shared by the server's workers.
#[derive(Debug)]
pub struct EdgeState {
    /// Routing state.
    pub hub: Arc<Hub>,
    /// Who may connect.
    pub users: Users,
    /// Session settings.
    pub limits: SessionLimits,
    /// How far past `max_frame_bytes` a websocket frame is still read (to be
    /// answered with `payload_too_large`); beyond it the connection closes with 1009.
    pub read_limit_bytes: usize,
}

/// Registers every route on an actix-web service config.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/ws", web::get().to(websocket))
        .route("/v1/invoke/{service}/{route}", web::post().to(invoke))
        .route("/v1/publish/{topic}", web::post().to(publish))
        .route("/healthz", web::get().to(healthz))
        .route("/metrics", web::get().to(metrics));
}

/// The principal of the request, or the 401 answer (boxed: it is large).
async fn authenticate(
    state: &EdgeState,
    req: &HttpRequest,
) -> Result<Principal, Box<HttpResponse>> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    state.users.authenticate_async(header).await.ok_or_else(|| {
        let error = WireError::new(ErrorCode::Unauthorized, "missing or bad credentials");
        Box::new(
            HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, r#"Basic realm="ms-gateway""#))
                .json(error),
        )
    })
}

fn error_response(error: &WireError, trace_id: Option<&str>) -> HttpResponse {
    let status =
        StatusCode::from_u16(error.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    if let Some(trace_id) = trace_id.and_then(|t| HeaderValue::from_str(t).ok()) {
        response.insert_header(("X-Trace-Id", trace_id));
    }
    response.json(error)
}

async fn websocket(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<EdgeState>,
) -> HttpResponse {
    let principal = match authenticate(&state, &req).await {
        Ok(p) => p,
        Err(response) => return *response,
    };
    if state.hub.is_draining() {
        return error_response(
            &WireError::new(ErrorCode::Overloaded, "the gateway is shutting down"),
            None,
        );
    }
    let (response, ws_session, stream) = match actix_ws::handle(&req, body) {
        Ok(parts) => parts,
        Err(e) => return e.error_response(),
    };
    let stream = stream
        .max_frame_size(state.read_limit_bytes)
        .aggregate_continuations()
        .max_continuation_size(state.read_limit_bytes);
    let hub = state.hub.clone();
    let limits = state.limits;
    actix_web::rt::spawn(session::run(hub, principal, ws_session, stream, limits));
    response
}

/// Reads a body of at most `limit` bytes.
async fn read_body(mut body: web::Payload, limit: u64) -> Result<Vec<u8>, WireError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            WireError::new(ErrorCode::BadRequest, format!("cannot read the body: {e}"))
        })?;
        if (bytes.len() + chunk.len()) as u64 > limit {
            return Err(WireError::new(
                ErrorCode::PayloadTooLarge,
                format!("body over the {limit}-byte limit; send large payloads by claim check"),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The body as a JSON payload; an empty body is `null`.
fn json_body(bytes: Vec<u8>) -> Result<Json, WireError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Json::null());
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| WireError::new(ErrorCode::BadRequest, "the body is not UTF-8"))?;
    Json::from_text(text)
        .map_err(|e| WireError::new(ErrorCode::BadRequest, format!("the body is not JSON: {e}")))
}

fn trace_id(req: &HttpRequest) -> String {
    req.headers()
        .get("X-Trace-Id")
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.is_empty())
        .map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_owned)
}

async fn invoke(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Payload,
    state: web::Data<EdgeState>,
) -> HttpResponse {
    let principal = match authenticate(&state, &req).await {
        Ok(principal) => principal,
        Err(response) => return *response,
    };
    let trace_id = trace_id(&req);
    if let Err(error) = principal.check_call(&path.0) {
        return error_response(&error, Some(&trace_id));
    }
    let timeout_ms = match req.headers().get("X-Timeout-Ms") {
        None => DEFAULT_INVOKE_TIMEOUT_MS,
        Some(v) => match v.to_str().ok().and_then(|t| t.trim().parse::<u64>().ok()) {
            Some(ms) if ms > 0 => ms,
            _ => {
                let error = WireError::new(
                    ErrorCode::BadRequest,
                    "X-Timeout-Ms must be a positive integer",
                );
                return error_response(&error, Some(&trace_id));
            }
        },
    };
    let payload = match read_body(body, state.limits.max_frame_bytes)
        .await
        .and_then(json_body)
    {
        Ok(json) => json,
        Err(error) => return error_response(&error, Some(&trace_id)),
    };
    let (service, route) = path.into_inner();
    let mut headers = Headers::new();
    headers.set_trace_id(trace_id.clone());
    headers.set_deadline_ms(now_ms().saturating_add(timeout_ms));
    let request = Request {
        to: service,
        route,
        from: None,
        payload: Payload::Inline(payload),
    };
    let answer = state.hub.invoke(request, headers);
    // The router answers at the deadline; the extra second only guards
    // against a bug leaving the caller waiting forever.
    let outcome =
        match tokio::time::timeout(Duration::from_millis(timeout_ms + 1_000), answer).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Outcome::Failed(WireError::new(
                ErrorCode::Internal,
                "the gateway dropped the request",
            )),
            Err(_) => Outcome::Failed(WireError::new(
                ErrorCode::Timeout,
                "the deadline passed before a reply",
            )),
        };
    match outcome {
        Outcome::Reply { payload, .. } => {
            let mut response = HttpResponse::Ok();
            response.insert_header(("X-Trace-Id", trace_id.as_str()));
            response.content_type("application/json");
            match payload {
                Payload::Inline(json) => response.body(json.as_str().to_owned()),
                Payload::Ref(reference) => {
                    response.insert_header(("X-Payload-Ref", "1"));
                    response.json(reference)
                }
            }
        }
        Outcome::Failed(error) => error_response(&error, Some(&trace_id)),
    }
}

async fn publish(
    req: HttpRequest,
    topic: web::Path<String>,
    body: web::Payload,
    state: web::Data<EdgeState>,
) -> HttpResponse {
    let principal = match authenticate(&state, &req).await {
        Ok(principal) => principal,
        Err(response) => return *response,
    };
    let trace_id = trace_id(&req);
    if let Err(error) = principal.check_publish(&topic) {
        return error_response(&error, Some(&trace_id));
    }
    let payload = match read_body(body, state.limits.max_frame_bytes)
        .await
        .and_then(json_body)
    {
        Ok(json) => json,
        Err(error) => return error_response(&error, Some(&trace_id)),
    };
    let mut headers = Headers::new();
    headers.set_trace_id(trace_id.clone());
    let event = Envelope::event(topic.into_inner(), Payload::Inline(payload)).with_headers(headers);
    let id = event.id.to_string();
    match state.hub.publish(event) {
        Ok(()) => HttpResponse::Accepted()
            .insert_header(("X-Trace-Id", trace_id.as_str()))
            .json(serde_json::json!({ "id": id })),
        Err(error) => error_response(&error, Some(&trace_id)),
    }
}

async fn healthz(req: HttpRequest, state: web::Data<EdgeState>) -> HttpResponse {
    if let Err(response) = authenticate(&state, &req).await {
        return *response;
    }
    if state.hub.is_draining() {
        HttpResponse::ServiceUnavailable().body("shutting down\n")
    } else {
        HttpResponse::Ok().body("ok\n")
    }
}

async fn metrics(req: HttpRequest, state: web::Data<EdgeState>) -> HttpResponse {
    if let Err(response) = authenticate(&state, &req).await {
        return *response;
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.hub.metrics())
}
