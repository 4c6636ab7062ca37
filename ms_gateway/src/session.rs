//! One service's websocket session: hello/welcome, then frames both ways,
//! batched acks and heartbeats.

use std::sync::Arc;
use std::time::Duration;

use actix_ws::{
    AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, ProtocolError, Session,
};
use futures_util::StreamExt as _;
use ms_protocol::{
    Body, DecodeError, Envelope, ErrorCode, Hello, MessageId, Welcome, WireError, decode_limited,
    decode_shared, encode,
};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use crate::auth::Principal;
use crate::hub::{Hub, Outgoing};

/// How long a session may collect acks before sending them (the protocol allows 50 ms).
const ACK_DELAY: Duration = Duration::from_millis(20);

/// The session's settings, from the gateway configuration.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Idle time before a ping; 3 silent intervals drop the peer.
    pub heartbeat_ms: u64,
    /// Largest frame accepted; bigger ones get `payload_too_large`.
    pub max_frame_bytes: u64,
}

/// Why the session loop ended.
enum End {
    /// The peer closed or the socket failed.
    Peer,
    /// The peer sent a frame too big to read: close 1009.
    TooBig,
    /// The peer sent nothing for 3 heartbeat intervals.
    Dead,
    /// The gateway is shutting down: close 1001.
    GoingAway,
    /// The user may not register the service: close 1008 after `forbidden`.
    Forbidden,
}

/// Runs one session to its end.
pub async fn run(
    hub: Arc<Hub>,
    principal: Principal,
    mut session: Session,
    mut stream: AggregatedMessageStream,
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
        let deadline = last_heard + heartbeat * 3;
        let message = tokio::select! {
            message = stream.next() => message,
            () = sleep_until(deadline) => {
                slog::info!(log, "no hello in time, dropping the connection");
                finish(session, End::Dead).await;
                return;
            }
        };
        last_heard = Instant::now();
        let text = match message {
            None | Some(Ok(AggregatedMessage::Close(_))) => return,
            Some(Err(e)) => {
                finish(session, end_for(&e)).await;
                return;
            }
            Some(Ok(AggregatedMessage::Ping(bytes))) => {
                let _ = session.pong(&bytes).await;
                continue;
            }
            Some(Ok(AggregatedMessage::Pong(_))) => continue,
            Some(Ok(AggregatedMessage::Binary(_))) => {
                hub.count_malformed();
                let _ = send(&mut session, &DecodeError::binary_frame().to_envelope()).await;
                continue;
            }
            Some(Ok(AggregatedMessage::Text(text))) => text,
        };
        match decode_limited(&text, limits.max_frame_bytes) {
            Ok(Envelope {
                body: Body::Hello(hello),
                ..
            }) => break hello,
            Ok(other) => {
                let error = WireError::new(
                    ErrorCode::BadRequest,
                    format!("a {} frame before hello; send hello first", other.kind()),
                );
                hub.count_malformed();
                let _ = send(&mut session, &Envelope::error(Some(&other.id), error)).await;
            }
            Err(e) => {
                hub.count_malformed();
                let _ = send(&mut session, &e.to_envelope()).await;
            }
        }
    };

    if let Err(error) = principal.check_hello(&hello) {
        slog::warn!(log, "hello refused"; "service" => &hello.service, "reason" => &error.message);
        let _ = send(&mut session, &Envelope::error(None, error)).await;
        finish(session, End::Forbidden).await;
        return;
    }
    if hub.is_draining() {
        finish(session, End::GoingAway).await;
        return;
    }
    let log =
        log.new(slog::o!("service" => hello.service.clone(), "instance" => hello.instance.clone()));
    let welcome = Envelope::new(Body::Welcome(Welcome {
        session: format!("s{conn}"),
        heartbeat_ms: limits.heartbeat_ms,
        max_frame_bytes: limits.max_frame_bytes,
    }));
    if send(&mut session, &welcome).await.is_err() {
        return;
    }
    slog::info!(log, "session open"; "max_in_flight" => hello.max_in_flight, "version" => &hello.version);
    let (outbox, inbox) = mpsc::unbounded_channel();
    hub.connect(conn, &hello, outbox);
    let end = serve(
        &hub,
        conn,
        &mut session,
        &mut stream,
        inbox,
        &hello,
        limits,
        &log,
    )
    .await;
    hub.disconnect(conn);
    slog::info!(log, "session closed");
    finish(session, end).await;
}

/// The open session: frames in, frames out, acks, heartbeats.
#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename these
async fn serve(
    hub: &Hub,
    conn: u64,
    session: &mut Session,
    stream: &mut AggregatedMessageStream,
    mut inbox: mpsc::UnboundedReceiver<Outgoing>,
    _hello: &Hello,
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
        tokio::select! {
            message = stream.next() => {
                last_heard = Instant::now();
                match message {
                    None | Some(Ok(AggregatedMessage::Close(_))) => return End::Peer,
                    Some(Err(e)) => {
                        slog::info!(log, "websocket error"; "error" => %e);
                        return end_for(&e);
                    }
                    Some(Ok(AggregatedMessage::Ping(bytes))) => {
                        if session.pong(&bytes).await.is_err() {
                            return End::Peer;
                        }
                    }
                    Some(Ok(AggregatedMessage::Pong(_))) => {}
                    Some(Ok(AggregatedMessage::Binary(_))) => {
                        hub.count_malformed();
                        if send(session, &DecodeError::binary_frame().to_envelope()).await.is_err() {
                            return End::Peer;
                        }
                        last_sent = Instant::now();
                    }
                    Some(Ok(AggregatedMessage::Text(text))) => {
                        // payloads stay views of the received frame: forwarded without a copy
                        match decode_shared(&text, limits.max_frame_bytes) {
                            Ok(envelope) => hub.frame(conn, envelope),
                            Err(e) => {
                                hub.count_malformed();
                                slog::debug!(log, "malformed frame"; "error" => %e);
                                if send(session, &e.to_envelope()).await.is_err() {
                                    return End::Peer;
                                }
                                last_sent = Instant::now();
                            }
                        }
                    }
                }
            }
            outgoing = inbox.recv() => {
                match outgoing {
                    Some(Outgoing::Frame(text)) => {
                        if session.text(text).await.is_err() {
                            return End::Peer;
                        }
                        last_sent = Instant::now();
                    }
                    Some(Outgoing::Ack(id)) => {
                        acks.push(id);
                        flush_at.get_or_insert_with(|| Instant::now() + ACK_DELAY);
                    }
                    Some(Outgoing::GoingAway) | None => {
                        let _ = flush_acks(session, &mut acks).await;
                        return End::GoingAway;
                    }
                }
            }
            () = sleep_until(flush_at.unwrap_or_else(Instant::now)), if flush_at.is_some() => {
                flush_at = None;
                if flush_acks(session, &mut acks).await.is_err() {
                    return End::Peer;
                }
                last_sent = Instant::now();
            }
            _ = ticker.tick() => {
                if last_heard.elapsed() >= heartbeat * 3 {
                    slog::warn!(log, "peer silent for 3 heartbeat intervals, dropping it");
                    return End::Dead;
                }
                if last_sent.elapsed() >= heartbeat || last_heard.elapsed() >= heartbeat {
                    if session.ping(b"").await.is_err() {
                        return End::Peer;
                    }
                    last_sent = Instant::now();
                }
            }
        }
    }
}

async fn flush_acks(
    session: &mut Session,
    acks: &mut Vec<MessageId>,
) -> Result<(), actix_ws::Closed> {
    if acks.is_empty() {
        return Ok(());
    }
    let ack = Envelope::ack(std::mem::take(acks));
    send(session, &ack).await
}

async fn send(session: &mut Session, envelope: &Envelope) -> Result<(), actix_ws::Closed> {
    match encode(envelope) {
        Ok(text) => session.text(text).await,
        // Encoding our own envelopes cannot fail; nothing sensible to send.
        Err(_) => Ok(()),
    }
}

fn end_for(error: &ProtocolError) -> End {
    match error {
        ProtocolError::Overflow => End::TooBig,
        _ => End::Peer,
    }
}

async fn finish(session: Session, end: End) {
    let reason = match end {
        End::Peer => return,
        End::Dead => {
            // A dead peer does not read a close frame; just drop it.
            let _ = session.close(None).await;
            return;
        }
        End::TooBig => CloseReason {
            code: CloseCode::Size,
            description: Some("frame over the size limit".to_owned()),
        },
        End::GoingAway => CloseReason {
            code: CloseCode::Away,
            description: Some("gateway shutting down".to_owned()),
        },
        End::Forbidden => CloseReason {
            code: CloseCode::Policy,
            description: Some("forbidden".to_owned()),
        },
    };
    let _ = session.close(Some(reason)).await;
}
