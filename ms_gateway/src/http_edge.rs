//! The HTTP side of the gateway: the websocket upgrade and the HTTP edge
//! for callers that are not services (docs/protocol.md section 7).

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{FromRequest as _, HttpRequest, HttpResponse, dev, web};
use futures_util::StreamExt as _;
use ms_protocol::clock::now_ms;
use ms_protocol::{Envelope, ErrorCode, Headers, Json, Payload, Request, WireError};

use crate::auth::{Principal, Users};
use crate::frame_guard::FrameGuard;
use crate::hub::Hub;
use crate::refusal_log::Refusal;
use crate::router::Outcome;
use crate::session::{self, Inbound, SessionLimits};
use crate::trace::EdgeTrace;

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
    /// Furthest deadline a caller may ask for (`X-Timeout-Ms`), in ms.
    pub max_deadline_ms: u64,
    /// Longest an HTTP body may take to arrive; a slower one gets 408.
    pub body_timeout: Duration,
    /// Whether `GET /metrics` answers without credentials.
    pub metrics_public: bool,
}

/// Registers every route on an actix-web service config.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/ws", web::get().to(websocket))
        .route("/v1/invoke/{service}/{route}", web::post().to(invoke))
        .route("/v1/publish/{topic}", web::post().to(publish))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
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
        state.hub.count_auth_failure();
        // one line per refusal within the peer's budget: a password guesser
        // shows in the log without flooding it (no user name: it may be a
        // mistyped password)
        let peer = req
            .peer_addr()
            .map_or_else(|| "unknown peer".to_owned(), |a| format!("peer {}", a.ip()));
        state.hub.refusals().write(
            &peer,
            &Refusal {
                id: None,
                trace_id: None,
                service: None,
                route: None,
                code: error.code.as_str(),
                reason: "missing or bad credentials",
            },
        );
        Box::new(
            HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, r#"Basic realm="ms-gateway""#))
                .json(error),
        )
    })
}

fn error_response(error: &WireError) -> HttpResponse {
    let status =
        StatusCode::from_u16(error.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status).json(error)
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
        return error_response(&WireError::new(
            ErrorCode::Overloaded,
            "the gateway is shutting down",
        ));
    }
    // The frame limit must hold while reading: the guard follows frame
    // headers in the raw bytes and stops the stream before a big frame is
    // buffered (the decoder below would check only once it had all of it).
    let limit = state.limits.max_frame_bytes;
    let violation = Rc::new(Cell::new(None));
    let guarded = FrameGuard::new(body.into_inner(), limit, violation.clone());
    let mut raw: dev::Payload = dev::Payload::Stream {
        payload: Box::pin(guarded),
    };
    let body = match web::Payload::from_request(&req, &mut raw).await {
        Ok(body) => body,
        Err(e) => return e.error_response(),
    };
    let (response, ws_session, stream) = match actix_ws::handle(&req, body) {
        Ok(parts) => parts,
        Err(e) => return e.error_response(),
    };
    let frame_limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let stream = stream
        .max_frame_size(frame_limit)
        .aggregate_continuations()
        .max_continuation_size(frame_limit);
    let hub = state.hub.clone();
    let limits = state.limits;
    let inbound = Inbound { stream, violation };
    actix_web::rt::spawn(session::run(hub, principal, ws_session, inbound, limits));
    response
}

/// Reads a body of at most `limit` bytes within `timeout`.
async fn read_body(
    mut body: web::Payload,
    limit: u64,
    timeout: Duration,
) -> Result<Vec<u8>, WireError> {
    let read = async {
        let mut bytes = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                WireError::new(ErrorCode::BadRequest, format!("cannot read the body: {e}"))
            })?;
            if (bytes.len() as u64).saturating_add(chunk.len() as u64) > limit {
                return Err(WireError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("body over the {limit}-byte limit; send large payloads by claim check"),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    };
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or_else(|_| {
            Err(WireError::new(
                ErrorCode::BadRequest,
                format!("the body did not arrive within {} ms", timeout.as_millis()),
            ))
        })
}

/// Refuses a path segment that is not a protocol name (docs/protocol.md section 2).
fn check_name(field: &str, value: &str) -> Result<(), WireError> {
    let valid = (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(WireError::new(
            ErrorCode::BadRequest,
            format!("{field} must be 1 to 128 bytes of [A-Za-z0-9._-]"),
        ))
    }
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

/// Why an invocation failed, and whether the router counted it already.
struct Failed {
    error: WireError,
    counted: bool,
}

impl From<WireError> for Failed {
    fn from(error: WireError) -> Self {
        Self {
            error,
            counted: false,
        }
    }
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
    let (service, route) = path.into_inner();
    let edge = EdgeTrace::start(
        state.hub.tracer(),
        &req,
        "/v1/invoke/{service}/{route}",
        &[
            ("rpc.system", "ms_protocol"),
            ("rpc.service", &service),
            ("rpc.method", &route),
        ],
    );
    let trace_id = edge.trace_id();
    let response = match call(&req, &principal, &service, &route, body, &state, &edge).await {
        Ok(response) => response,
        Err(Failed { error, counted }) => {
            if !counted {
                state.hub.count_refusal(&service, &route, &error.code);
            }
            state.hub.refusals().write(
                &format!("user {}", principal.name),
                &Refusal {
                    id: None,
                    trace_id: Some(&trace_id),
                    service: Some(&service),
                    route: Some(&route),
                    code: error.code.as_str(),
                    reason: &error.message,
                },
            );
            error_response(&error)
        }
    };
    edge.answer(response)
}

/// `POST /v1/invoke`: the reply, or why not.
async fn call(
    req: &HttpRequest,
    principal: &Principal,
    service: &str,
    route: &str,
    body: web::Payload,
    state: &EdgeState,
    edge: &EdgeTrace,
) -> Result<HttpResponse, Failed> {
    principal.check_call(service)?;
    let max = state.max_deadline_ms;
    let timeout_ms = match req.headers().get("X-Timeout-Ms") {
        None => DEFAULT_INVOKE_TIMEOUT_MS.min(max),
        Some(v) => match v.to_str().ok().and_then(|t| t.trim().parse::<u64>().ok()) {
            Some(ms) if ms > 0 && ms <= max => ms,
            _ => {
                return Err(WireError::new(
                    ErrorCode::BadRequest,
                    format!("X-Timeout-Ms must be an integer from 1 to {max}"),
                )
                .into());
            }
        },
    };
    check_name("service", service).and(check_name("route", route))?;
    let payload = read_body(body, state.limits.max_frame_bytes, state.body_timeout)
        .await
        .and_then(json_body)?;
    let mut headers = Headers::new();
    edge.write(&mut headers);
    headers.set_deadline_ms(now_ms().saturating_add(timeout_ms));
    let request = Request {
        to: service.to_owned(),
        route: route.to_owned(),
        from: None,
        payload: Payload::Inline(payload),
    };
    // Dropped with this handler when the caller goes away: the request is
    // cancelled then.
    let mut invocation = state.hub.invoke(request, headers);
    // The router answers at the deadline; the extra second only guards
    // against a bug leaving the caller waiting forever.
    let guard = Duration::from_millis(timeout_ms.saturating_add(1_000));
    let outcome = match tokio::time::timeout(guard, invocation.answer()).await {
        Ok(Some(outcome)) => outcome,
        Ok(None) => {
            return Err(
                WireError::new(ErrorCode::Internal, "the gateway dropped the request").into(),
            );
        }
        Err(_) => {
            return Err(
                WireError::new(ErrorCode::Timeout, "the deadline passed before a reply").into(),
            );
        }
    };
    match outcome {
        Outcome::Reply { payload, .. } => {
            let mut response = HttpResponse::Ok();
            response.content_type("application/json");
            Ok(match payload {
                Payload::Inline(json) => response.body(json.as_str().to_owned()),
                Payload::Ref(reference) => {
                    response.insert_header(("X-Payload-Ref", "1"));
                    response.json(reference)
                }
            })
        }
        // counted by the router, which made or relayed it
        Outcome::Failed(error) => Err(Failed {
            error,
            counted: true,
        }),
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
    let edge = EdgeTrace::start(
        state.hub.tracer(),
        &req,
        "/v1/publish/{topic}",
        &[
            ("messaging.system", "ms_protocol"),
            ("messaging.operation.type", "send"),
            ("messaging.destination.name", &topic),
        ],
    );
    let response = publish_traced(topic.into_inner(), body, &state, principal, &edge).await;
    edge.answer(response)
}

async fn publish_traced(
    topic: String,
    body: web::Payload,
    state: &EdgeState,
    principal: Principal,
    edge: &EdgeTrace,
) -> HttpResponse {
    if let Err(error) = check_name("topic", &topic) {
        return error_response(&error);
    }
    if let Err(error) = principal.check_publish(&topic) {
        return error_response(&error);
    }
    let payload = match read_body(body, state.limits.max_frame_bytes, state.body_timeout)
        .await
        .and_then(json_body)
    {
        Ok(json) => json,
        Err(error) => return error_response(&error),
    };
    let mut headers = Headers::new();
    edge.write(&mut headers);
    let event = Envelope::event(topic, Payload::Inline(payload)).with_headers(headers);
    let id = event.id.to_string();
    let stored = match state.hub.publish(event) {
        Ok(None) => Ok(()),
        // Cluster mode: 202 once the backplane holds every copy.
        Ok(Some(confirmed)) => match confirmed.await {
            Ok(Outcome::Reply { .. }) => Ok(()),
            Ok(Outcome::Failed(error)) => Err(error),
            Err(_) => Err(WireError::new(
                ErrorCode::Overloaded,
                "the gateway is shutting down",
            )),
        },
        Err(error) => Err(error),
    };
    match stored {
        Ok(()) => HttpResponse::Accepted().json(serde_json::json!({ "id": id })),
        Err(error) => error_response(&error),
    }
}

/// Liveness, without credentials: 200 while the gateway accepts
/// connections, 503 once it is shutting down. It tells nothing else.
async fn healthz(state: web::Data<EdgeState>) -> HttpResponse {
    if state.hub.is_draining() {
        HttpResponse::ServiceUnavailable().body("shutting down\n")
    } else {
        HttpResponse::Ok().body("ok\n")
    }
}

/// Readiness, without credentials: 200 when the gateway can route. A
/// single node routes whenever it runs; a cluster node while its NATS
/// connection is up; 503 once it is shutting down.
async fn readyz(state: web::Data<EdgeState>) -> HttpResponse {
    if state.hub.is_draining() {
        HttpResponse::ServiceUnavailable().body("shutting down\n")
    } else if !state.hub.is_backplane_up() {
        HttpResponse::ServiceUnavailable().body("backplane unreachable\n")
    } else {
        HttpResponse::Ok().body("ready\n")
    }
}

/// Prometheus text; credentials required unless `--metrics-public`.
async fn metrics(req: HttpRequest, state: web::Data<EdgeState>) -> HttpResponse {
    if !state.metrics_public
        && let Err(response) = authenticate(&state, &req).await
    {
        return *response;
    }
    let snapshot = state.hub.snapshot();
    HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .body(crate::metrics::render(snapshot))
}
