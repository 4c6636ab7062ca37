//! One service's websocket session: hello/welcome, then frames both ways,
//! batched acks and heartbeats.
//!
//! Every wait has a bound: a peer that sends nothing for 3 heartbeat
//! intervals is dropped, and so is one that does not read (a write pending
//! for 3 intervals, or a backlog over the hub's byte bound). Frames over
//! the limit close the connection with 1009 before they are buffered (see
//! `frame_guard`), text that is not UTF-8 with 1007.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_ws::{
    AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, ProtocolError, Session,
};
use futures_util::StreamExt as _;
use ms_protocol::{
    Body, DecodeError, Envelope, ErrorCode, MAX_ACK_DELAY, MISSED_HEARTBEATS, MessageId, Welcome,
    WireError, decode_limited, decode_shared, encode, peer_silent_too_long, silence_limit,
};
use tokio::time::{Instant, sleep_until};

use crate::auth::Principal;
use crate::frame_guard::Violation;
use crate::hub::{CloseOrder, Hub, Outgoing, SessionPort, conn_peer};
use crate::refusal_log::Refusal;

/// How long a session may collect acks before sending them: well inside the
/// protocol's [`MAX_ACK_DELAY`], so that a slow tick never pushes past it.
const ACK_DELAY: Duration = Duration::from_millis(20);
const _: () = assert!(ACK_DELAY.as_millis() <= MAX_ACK_DELAY.as_millis());

/// The session's settings, from the gateway configuration.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Idle time before a ping; [`MISSED_HEARTBEATS`] silent intervals drop
    /// the peer.
    pub heartbeat_ms: u64,
    /// Largest frame accepted; a bigger one closes the connection with 1009.
    pub max_frame_bytes: u64,
}

/// Why the session loop ended.
enum End {
    /// The peer closed or the socket failed.
    Peer,
    /// The peer sent a frame too big to read: close 1009.
    TooBig,
    /// The peer sent text that is not UTF-8: close 1007.
    NotUtf8,
    /// The peer sent nothing for 3 heartbeat intervals, or did not read.
    Dead,
    /// The gateway is shutting down: close 1001.
    GoingAway,
    /// The user may not register the service: close 1008 after `forbidden`.
    Forbidden,
    /// The hub closed the session (replaced by a newer connection, or a
    /// peer that does not read).
    Ordered(CloseOrder),
}

/// What the session reads from: the peer's messages and the frame guard's
/// verdict on them.
pub struct Inbound {
    /// Messages, continuations joined.
    pub stream: AggregatedMessageStream,
    /// Set by the frame guard when it stopped the stream.
    pub violation: Rc<Cell<Option<Violation>>>,
}

impl Inbound {
    /// Why a read error ends the session.
    fn end_for(&self, error: &ProtocolError) -> End {
        if self.violation.get().is_some() {
            return End::TooBig;
        }
        match error {
            ProtocolError::Overflow => End::TooBig,
            ProtocolError::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => End::NotUtf8,
            _ => End::Peer,
        }
    }
}

/// Runs one session to its end.
pub async fn run(
    hub: Arc<Hub>,
    principal: Principal,
    mut session: Session,
    mut inbound: Inbound,
    limits: SessionLimits,
) {
    let conn = hub.next_id();
    let log = hub
        .logger()
        .new(slog::o!("conn" => conn, "user" => principal.name.clone()));
    let heartbeat = Duration::from_millis(limits.heartbeat_ms.max(1));
    let mut last_heard = Instant::now();

    // Until hello: nothing else is valid.
    let hello = loop {
        let deadline = last_heard + silence_limit(heartbeat);
        let message = tokio::select! {
            message = inbound.stream.next() => message,
            () = sleep_until(deadline) => {
                slog::info!(log, "no hello in time, dropping the connection");
                finish(&hub, conn, session, End::Dead).await;
                return;
            }
        };
        last_heard = Instant::now();
        let reply = match message {
            None | Some(Ok(AggregatedMessage::Close(_))) => return,
            Some(Err(e)) => {
                finish(&hub, conn, session, inbound.end_for(&e)).await;
                return;
            }
            Some(Ok(AggregatedMessage::Ping(bytes))) => {
                if bounded(heartbeat, session.pong(&bytes)).await.is_err() {
                    return;
                }
                continue;
            }
            Some(Ok(AggregatedMessage::Pong(_))) => continue,
            Some(Ok(AggregatedMessage::Binary(_))) => {
                hub.count_malformed();
                let answer = DecodeError::binary_frame().to_envelope();
                refused(&hub, conn, None, &answer);
                answer
            }
            Some(Ok(AggregatedMessage::Text(text))) => {
                match decode_limited(&text, limits.max_frame_bytes) {
                    Ok(Envelope {
                        body: Body::Hello(hello),
                        ..
                    }) => break hello,
                    Ok(other) => {
                        hub.count_malformed();
                        let error = WireError::new(
                            ErrorCode::BadRequest,
                            format!("a {} frame before hello; send hello first", other.kind()),
                        );
                        let answer = Envelope::error(Some(&other.id), error);
                        refused(&hub, conn, Some(&other), &answer);
                        answer
                    }
                    Err(e) => {
                        hub.count_malformed();
                        let answer = e.to_envelope();
                        refused(&hub, conn, None, &answer);
                        answer
                    }
                }
            }
        };
        if send(heartbeat, &mut session, &reply).await.is_err() {
            return;
        }
    };

    if let Err(error) = principal.check_hello(&hello) {
        slog::warn!(log, "hello refused"; "service" => &hello.service, "reason" => &error.message);
        let _ = send(heartbeat, &mut session, &Envelope::error(None, error)).await;
        finish(&hub, conn, session, End::Forbidden).await;
        return;
    }
    if hub.is_draining() {
        finish(&hub, conn, session, End::GoingAway).await;
        return;
    }
    let log =
        log.new(slog::o!("service" => hello.service.clone(), "instance" => hello.instance.clone()));
    let granted = hub.granted_in_flight(hello.max_in_flight);
    let welcome = Envelope::new(Body::Welcome(Welcome {
        session: format!("s{conn}"),
        heartbeat_ms: limits.heartbeat_ms,
        max_frame_bytes: limits.max_frame_bytes,
        max_in_flight: Some(granted),
    }));
    if send(heartbeat, &mut session, &welcome).await.is_err() {
        return;
    }
    slog::info!(log, "session open";
        "max_in_flight" => granted, "asked" => hello.max_in_flight, "version" => &hello.version);
    let port = hub.connect(conn, &hello);
    let end = serve(
        &hub,
        conn,
        &principal,
        &mut session,
        &mut inbound,
        port,
        limits,
        &log,
    )
    .await;
    hub.disconnect(conn);
    slog::info!(log, "session closed");
    finish(&hub, conn, session, end).await;
}

/// The open session: frames in, frames out, acks, heartbeats.
#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename these
async fn serve(
    hub: &Hub,
    conn: u64,
    principal: &Principal,
    session: &mut Session,
    inbound: &mut Inbound,
    mut port: SessionPort,
    limits: SessionLimits,
    log: &slog::Logger,
) -> End {
    let heartbeat = Duration::from_millis(limits.heartbeat_ms.max(1));
    let mut last_heard = Instant::now();
    let mut last_sent = Instant::now();
    let mut acks: Vec<MessageId> = Vec::new();
    let mut flush_at: Option<Instant> = None;
    let mut ticker = tokio::time::interval(heartbeat.min(Duration::from_millis(1000)) / 2);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let written = tokio::select! {
            biased;
            changed = port.close.changed() => {
                let order = *port.close.borrow();
                return match (changed, order) {
                    (Ok(()), Some(order)) => End::Ordered(order),
                    _ => End::Peer,
                };
            }
            message = inbound.stream.next() => {
                last_heard = Instant::now();
                match message {
                    None | Some(Ok(AggregatedMessage::Close(_))) => return End::Peer,
                    Some(Err(e)) => {
                        slog::info!(log, "websocket error"; "error" => %e);
                        return inbound.end_for(&e);
                    }
                    Some(Ok(AggregatedMessage::Ping(bytes))) => {
                        bounded(heartbeat, session.pong(&bytes)).await
                    }
                    Some(Ok(AggregatedMessage::Pong(_))) => continue,
                    Some(Ok(AggregatedMessage::Binary(_))) => {
                        hub.count_malformed();
                        let answer = DecodeError::binary_frame().to_envelope();
                        refused(hub, conn, None, &answer);
                        send(heartbeat, session, &answer).await
                    }
                    Some(Ok(AggregatedMessage::Text(text))) => {
                        // payloads stay views of the received frame: forwarded without a copy
                        match decode_shared(&text, limits.max_frame_bytes) {
                            Ok(envelope) => match principal.refusal(&envelope) {
                                // a call or publish this user may not make:
                                // answered forbidden and not routed; acked
                                // like any refused request, so the sender
                                // does not send it again after a reconnect
                                Some(refusal) => {
                                    refused(hub, conn, Some(&envelope), &refusal);
                                    acks.push(envelope.id.clone());
                                    flush_at.get_or_insert_with(|| Instant::now() + ACK_DELAY);
                                    send(heartbeat, session, &refusal).await
                                }
                                None => {
                                    hub.frame(conn, envelope);
                                    continue;
                                }
                            },
                            Err(e) => {
                                hub.count_malformed();
                                let answer = e.to_envelope();
                                refused(hub, conn, None, &answer);
                                send(heartbeat, session, &answer).await
                            }
                        }
                    }
                }
            }
            outgoing = port.inbox.recv() => {
                match outgoing {
                    Some(Outgoing::Frame(text)) => {
                        let len = text.len() as u64;
                        let written = bounded(heartbeat, session.text(text)).await;
                        port.pending.fetch_sub(len, Ordering::Relaxed);
                        written
                    }
                    Some(Outgoing::Ack(id)) => {
                        acks.push(id);
                        flush_at.get_or_insert_with(|| Instant::now() + ACK_DELAY);
                        continue;
                    }
                    Some(Outgoing::GoingAway) | None => {
                        let _ = flush_acks(heartbeat, session, &mut acks).await;
                        return End::GoingAway;
                    }
                }
            }
            () = sleep_until(flush_at.unwrap_or_else(Instant::now)), if flush_at.is_some() => {
                flush_at = None;
                flush_acks(heartbeat, session, &mut acks).await
            }
            _ = ticker.tick() => {
                if peer_silent_too_long(last_heard.elapsed(), heartbeat) {
                    slog::warn!(
                        log,
                        "peer silent for {MISSED_HEARTBEATS} heartbeat intervals, dropping it"
                    );
                    return End::Dead;
                }
                if last_sent.elapsed() < heartbeat && last_heard.elapsed() < heartbeat {
                    continue;
                }
                bounded(heartbeat, session.ping(b"")).await
            }
        };
        match written {
            Ok(()) => last_sent = Instant::now(),
            Err(Stalled::Closed) => return End::Peer,
            Err(Stalled::NotReading) => {
                slog::warn!(
                    log,
                    "peer has not read for {MISSED_HEARTBEATS} heartbeat intervals, dropping it"
                );
                hub.count_slow_peer();
                return End::Dead;
            }
        }
    }
}

/// Logs (within the peer's budget) a frame the session answers `answer`
/// (an `error`) itself, and counts a refused request in
/// `ms_gateway_errors_total`. `frame` is the frame, when it could be read.
fn refused(hub: &Hub, conn: u64, frame: Option<&Envelope>, answer: &Envelope) {
    let Body::Error(report) = &answer.body else {
        return;
    };
    let (service, route) = match frame.map(|f| &f.body) {
        Some(Body::Request(request)) => {
            hub.count_refusal(&request.to, &request.route, &report.error.code);
            (Some(request.to.as_str()), Some(request.route.as_str()))
        }
        _ => (None, None),
    };
    let id = answer.correlation_id().map(ToString::to_string);
    hub.refusals().write(
        &conn_peer(conn),
        &Refusal {
            id: id.as_deref(),
            trace_id: frame.and_then(|f| f.headers.trace_id()),
            service,
            route,
            code: report.error.code.as_str(),
            reason: &report.error.message,
        },
    );
}

/// Why a write did not complete.
enum Stalled {
    /// The session is closed.
    Closed,
    /// The peer did not take the frame within [`silence_limit`].
    NotReading,
}

/// A write to the peer, given at most [`silence_limit`] (3 heartbeat
/// intervals): a peer that reads nothing for that long is as dead as one
/// that sends nothing.
async fn bounded(
    heartbeat: Duration,
    write: impl Future<Output = Result<(), actix_ws::Closed>>,
) -> Result<(), Stalled> {
    match tokio::time::timeout(silence_limit(heartbeat), write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(Stalled::Closed),
        Err(_) => Err(Stalled::NotReading),
    }
}

async fn flush_acks(
    heartbeat: Duration,
    session: &mut Session,
    acks: &mut Vec<MessageId>,
) -> Result<(), Stalled> {
    if acks.is_empty() {
        return Ok(());
    }
    let ack = Envelope::ack(std::mem::take(acks));
    send(heartbeat, session, &ack).await
}

async fn send(
    heartbeat: Duration,
    session: &mut Session,
    envelope: &Envelope,
) -> Result<(), Stalled> {
    match encode(envelope) {
        Ok(text) => bounded(heartbeat, session.text(text)).await,
        // Encoding our own envelopes cannot fail; nothing sensible to send.
        Err(_) => Ok(()),
    }
}

async fn finish(hub: &Hub, conn: u64, session: Session, end: End) {
    let reason = match end {
        End::Peer => return,
        End::Dead => {
            // A dead peer does not read a close frame; just drop it.
            let _ = tokio::time::timeout(Duration::from_millis(100), session.close(None)).await;
            return;
        }
        End::TooBig => {
            hub.count_oversized();
            hub.refusals().write(
                &conn_peer(conn),
                &Refusal {
                    code: "oversized_frame",
                    reason: "a frame over the size limit; connection closed with 1009",
                    ..Refusal::default()
                },
            );
            CloseReason {
                code: CloseCode::Size,
                description: Some("frame over the size limit".to_owned()),
            }
        }
        End::NotUtf8 => CloseReason {
            code: CloseCode::Invalid,
            description: Some("text frame is not UTF-8".to_owned()),
        },
        End::GoingAway => CloseReason {
            code: CloseCode::Away,
            description: Some("gateway shutting down".to_owned()),
        },
        End::Forbidden => CloseReason {
            code: CloseCode::Policy,
            description: Some("forbidden".to_owned()),
        },
        End::Ordered(order) => CloseReason {
            code: CloseCode::Other(order.code),
            description: Some(order.reason.to_owned()),
        },
    };
    // A peer that does not read would hold the close frame up for ever.
    let _ = tokio::time::timeout(Duration::from_secs(1), session.close(Some(reason))).await;
}
