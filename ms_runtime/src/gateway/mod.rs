//! The supervisor actor that owns the gateway websocket, and its handle.
//!
//! One [`Supervisor`](supervisor) per service keeps one connection open:
//! it authenticates, says `hello`, waits for `welcome`, pings when idle,
//! reconnects with backoff, keeps every frame it sent until the gateway
//! acknowledges it, acknowledges what it receives, answers redelivered
//! requests from its dedup memory, and hands requests and events to the
//! dispatcher. [`Gateway`] is the public handle to it.

mod backoff;
mod connect;
mod dedup;
mod frame_limit;
mod frames;
mod outbox;
mod port;
mod session;
mod supervisor;

use std::sync::Arc;
use std::time::Duration;

use actix::{Message, Recipient};
use tokio::sync::{oneshot, watch};

use crate::metrics::StatsCell;
use crate::protocol::{Envelope, Headers, Json, MessageId, Payload, WireError};

pub(crate) use crate::claim_check::Storage;
pub(crate) use dedup::RequestKey;
pub(crate) use port::{Delivery, DeliveryKind, Dispatch, Lifecycle};
pub(crate) use supervisor::{Supervisor, SupervisorSettings};

/// The text of one frame: shared, without copying, by the outbox, the dedup
/// memory and the socket writer.
pub(crate) type FrameText = bytestring::ByteString;

/// Starts a supervisor for `hello` as `config` says (URL, credentials, TLS,
/// tuning), logging to `log`, handing what it receives to `dispatch`.
/// Must run inside an actix system.
pub(crate) fn start(
    config: &crate::Config,
    hello: crate::protocol::Hello,
    log: slog::Logger,
    dispatch: Box<dyn Dispatch>,
    storage: Storage,
    stats: Arc<StatsCell>,
) -> Result<(actix::Addr<Supervisor>, Gateway), crate::Error> {
    if actix_rt::System::try_current().is_none() {
        return Err(crate::Error::NoSystem);
    }
    check_hello(&hello)?;
    let tls = connect::tls_config(config.tls_ca_file.as_deref())
        .map_err(|e| crate::Error::Tls(Box::new(e)))?;
    let settings = SupervisorSettings {
        urls: std::iter::once(&config.gateway_url)
            .chain(&config.gateway_fallback_urls)
            .map(ToString::to_string)
            .collect(),
        authorization: config
            .credentials
            .as_ref()
            .map(|c| crate::Secret::new(connect::basic_auth(c))),
        hello,
        tuning: config.tuning.clone(),
        tls,
        stats,
    };
    Ok(Supervisor::start(settings, log, dispatch, storage))
}

/// Refuses a `hello` the gateway would refuse: every name in it must follow
/// the protocol's name rule (an empty version is left out, so it may be empty).
fn check_hello(hello: &crate::protocol::Hello) -> Result<(), crate::Error> {
    let check = |what: &'static str, name: &str| {
        crate::protocol::check_name(name).map_err(|source| crate::Error::InvalidName {
            what,
            name: name.to_owned(),
            source,
        })
    };
    check("service name", &hello.service)?;
    check("instance", &hello.instance)?;
    if !hello.version.is_empty() {
        check("version", &hello.version)?;
    }
    for route in &hello.routes {
        check("route", route)?;
    }
    for topic in &hello.topics {
        check("topic", topic)?;
    }
    Ok(())
}

/// Asks the supervisor to shut down (see [`Shutdown`]) and waits until it has
/// closed; returns at once if it is gone already.
pub(crate) async fn stop(supervisor: &actix::Addr<Supervisor>, grace: Duration) {
    let (done, finished) = oneshot::channel();
    if supervisor.try_send(Shutdown { grace, done }).is_ok() {
        // the sender is dropped if the supervisor stops first: closed either way
        let _ = finished.await;
    }
}

/// Where the connection to the gateway stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Opening the websocket or waiting for `welcome`.
    Connecting,
    /// Welcomed; messages flow.
    Connected {
        /// The gateway's name for this session.
        session: String,
    },
    /// Lost or failed; a reconnect is scheduled.
    Disconnected {
        /// Why, in words for a log.
        reason: String,
    },
    /// The gateway refused the credentials (401) or the service (403);
    /// retried on the slower authentication schedule.
    Refused {
        /// The HTTP status or protocol code received.
        reason: String,
    },
    /// Shut down; no reconnect will follow.
    Stopped,
}

impl ConnectionState {
    /// True when welcomed by the gateway.
    pub fn is_connected(&self) -> bool {
        matches!(self, Self::Connected { .. })
    }
}

/// Why a call to another service, or a publish, did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The other side (service or gateway) answered with an error.
    #[error("{0}")]
    Remote(WireError),
    /// No answer before the deadline.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// Too many frames are waiting for the gateway's acknowledgement.
    #[error("too many unacknowledged frames are waiting for the gateway")]
    Overloaded,
    /// The payload is bigger than the connection allows.
    #[error("frame of {size} bytes is over the {limit}-byte limit")]
    PayloadTooLarge {
        /// The frame's size.
        size: usize,
        /// The limit.
        limit: u64,
    },
    /// The payload could not be encoded or the reply decoded.
    #[error("payload does not fit: {0}")]
    Payload(String),
    /// The runtime has stopped.
    #[error("the gateway connection has stopped")]
    Stopped,
}

/// A request to another service; the answer comes back on `reply`.
pub(crate) struct Call {
    pub(crate) envelope: Envelope,
    pub(crate) reply: oneshot::Sender<Result<Payload, CallError>>,
}

impl Message for Call {
    type Result = ();
}

/// The caller of a [`Call`] stopped waiting.
pub(crate) struct ForgetCall(pub(crate) MessageId);

impl Message for ForgetCall {
    type Result = ();
}

/// A frame to send reliably (event, or a raw client's frame).
pub(crate) struct Publish(pub(crate) Envelope);

impl Message for Publish {
    type Result = Result<(), CallError>;
}

/// How one dispatched message ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// A request answered.
    Reply(Payload),
    /// A request failed.
    Failed(WireError),
    /// An event handled (whatever the handler returned), or refused for
    /// good (its claim check is outside the accepted locations, or broken):
    /// acknowledged.
    EventDone,
    /// An event that could not be handled for now (its claim check could
    /// not be fetched): left unacknowledged, so the gateway delivers it
    /// again after this connection closes.
    EventHeld,
}

/// A dispatched message ended.
pub(crate) struct Settle {
    /// The delivery's key, as the session made it.
    pub(crate) key: RequestKey,
    pub(crate) outcome: Outcome,
}

impl Message for Settle {
    type Result = ();
}

/// Stop taking work, finish or hand back what is held, flush, close with 1001.
pub(crate) struct Shutdown {
    pub(crate) grace: Duration,
    pub(crate) done: oneshot::Sender<()>,
}

impl Message for Shutdown {
    type Result = ();
}

/// Handle to the supervisor actor: the service's connection to the gateway.
///
/// Cheap to clone; every [`Context`](crate::Context) carries one.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<GatewayInner>,
}

struct GatewayInner {
    calls: Recipient<Call>,
    forget: Recipient<ForgetCall>,
    publishes: Recipient<Publish>,
    settle: Recipient<Settle>,
    state: watch::Receiver<ConnectionState>,
    request_timeout: Duration,
    storage: Storage,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("state", &*self.inner.state.borrow())
            .finish()
    }
}

impl Gateway {
    pub(crate) fn new<A>(
        addr: &actix::Addr<A>,
        state: watch::Receiver<ConnectionState>,
        request_timeout: Duration,
        storage: Storage,
    ) -> Self
    where
        A: actix::Actor<Context = actix::Context<A>>
            + actix::Handler<Call>
            + actix::Handler<ForgetCall>
            + actix::Handler<Publish>
            + actix::Handler<Settle>,
    {
        Self {
            inner: Arc::new(GatewayInner {
                calls: addr.clone().recipient(),
                forget: addr.clone().recipient(),
                publishes: addr.clone().recipient(),
                settle: addr.clone().recipient(),
                state,
                request_timeout,
                storage,
            }),
        }
    }

    pub(crate) fn claims(&self) -> Option<&crate::claim_check::ClaimCheck> {
        self.inner.storage.claims.as_ref()
    }

    /// The S3 store, when the service has one configured.
    #[cfg(feature = "s3")]
    #[cfg_attr(docsrs, doc(cfg(feature = "s3")))]
    pub fn s3(&self) -> Option<&crate::s3::S3> {
        self.inner.storage.s3.as_ref()
    }

    /// True while the gateway has welcomed this service (the seed's `check_status`).
    pub fn is_connected(&self) -> bool {
        self.inner.state.borrow().is_connected()
    }

    /// The connection's current state.
    pub fn state(&self) -> ConnectionState {
        self.inner.state.borrow().clone()
    }

    /// A receiver that sees every state change.
    pub fn state_changes(&self) -> watch::Receiver<ConnectionState> {
        self.inner.state.clone()
    }

    /// Waits until connected, or `timeout`; returns whether connected.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        let mut rx = self.inner.state.clone();
        tokio::time::timeout(timeout, rx.wait_for(ConnectionState::is_connected))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Calls `route` of `service` and waits for its reply, at most `timeout`
    /// (default: `Tuning::request_timeout`).
    ///
    /// The request is kept and sent again across reconnects until the
    /// gateway acknowledges it; the deadline travels in `deadline_ms`.
    ///
    /// # Errors
    /// [`CallError`]: the other side's error, a timeout, a full outbox, ...
    pub async fn request(
        &self,
        service: &str,
        route: &str,
        payload: Json,
        mut headers: Headers,
        timeout: Option<Duration>,
    ) -> Result<Json, CallError> {
        let timeout = timeout.unwrap_or(self.inner.request_timeout);
        if headers.deadline_ms().is_none() {
            headers.set_deadline_ms(
                ms_protocol::clock::now_ms().saturating_add(timeout.as_millis() as u64),
            );
        }
        let payload = crate::claim_check::outgoing(self.claims(), payload)
            .await
            .map_err(CallError::Remote)?;
        let envelope = Envelope::request(service, route, payload).with_headers(headers);
        let id = envelope.id.clone();
        let (reply, answer) = oneshot::channel();
        self.inner
            .calls
            .try_send(Call { envelope, reply })
            .map_err(|_| CallError::Stopped)?;
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(result)) => crate::claim_check::incoming(self.claims(), result?)
                .await
                .map_err(|e| CallError::Remote(e.to_wire())),
            Ok(Err(_)) => Err(CallError::Stopped),
            Err(_) => {
                self.inner.forget.do_send(ForgetCall(id));
                Err(CallError::Timeout(timeout))
            }
        }
    }

    /// Publishes an event on `topic`. Returns once the event is queued for
    /// reliable delivery (kept until the gateway acknowledges it).
    ///
    /// # Errors
    /// [`CallError::Overloaded`] when too many frames wait for acks,
    /// [`CallError::PayloadTooLarge`], [`CallError::Stopped`].
    pub async fn publish(
        &self,
        topic: &str,
        payload: Json,
        headers: Headers,
    ) -> Result<(), CallError> {
        let payload = crate::claim_check::outgoing(self.inner.storage.claims.as_ref(), payload)
            .await
            .map_err(CallError::Remote)?;
        let envelope = Envelope::event(topic, payload).with_headers(headers);
        self.send(envelope).await
    }

    /// Sends any envelope reliably (kept until acknowledged).
    pub(crate) async fn send(&self, envelope: Envelope) -> Result<(), CallError> {
        self.inner
            .publishes
            .send(Publish(envelope))
            .await
            .map_err(|_| CallError::Stopped)?
    }

    pub(crate) fn settle(&self, id: MessageId, from: Option<&str>, outcome: Outcome) {
        self.settled(Settle {
            key: RequestKey::new(from, id),
            outcome,
        });
    }

    /// Hands a settlement to the supervisor.
    pub(crate) fn settled(&self, settled: Settle) {
        self.inner.settle.do_send(settled);
    }
}
