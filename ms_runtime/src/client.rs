//! The low-level client: the seed's raw receive loop, with the runtime's
//! reconnect, heartbeat, ack and dedup machinery underneath.

use std::time::Duration;

use actix::Addr;
use tokio::sync::{Mutex, mpsc};

use crate::boot::{Boot, Registration};
use crate::config::Config;
use crate::error::Error;
use crate::gateway::{self, Gateway, Outcome, Supervisor};
use crate::gateway::{Delivery, DeliveryKind, Dispatch, Lifecycle, Settle};
use crate::handler::{Event, Request};
use crate::handler_error::HandlerError;
use crate::protocol::Json;

/// A message received by a [`GatewayClient`].
///
/// ```no_run
/// use ms_runtime::{GatewayClient, HandlerError, Received};
///
/// async fn serve(client: &GatewayClient) {
///     while let Some(received) = client.receive().await {
///         match received {
///             Received::Request(request) if request.route == "echo" => {
///                 client.reply(&request, request.payload.clone());
///             }
///             Received::Request(request) => {
///                 client.fail(&request, HandlerError::bad_request("no such route"));
///             }
///             Received::Event(event) => client.ack(&event),
///         }
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub enum Received {
    /// A request to settle with [`GatewayClient::reply`] or [`GatewayClient::fail`].
    Request(Request),
    /// An event to acknowledge with [`GatewayClient::ack`].
    Event(Event),
}

/// The seed's `MicroServiceWs`, for code that wants its own receive loop.
///
/// Underneath is the same supervisor as [`run`](crate::run): reconnects with
/// backoff, heartbeats, frames kept until acknowledged and sent again after a
/// reconnect, redelivered requests answered from memory. The difference: you
/// receive and settle messages yourself. At most `max_in_flight` unsettled
/// messages are handed to you at once (the gateway's flow control), so the
/// receive queue is bounded by it.
///
/// ```no_run
/// use ms_runtime::{Config, GatewayClient, Received, Registration};
///
/// # async fn demo() -> Result<(), ms_runtime::Error> {
/// let client = GatewayClient::connect(&Config::from_env()?, Registration::new("ocr", ["extract"]))?;
/// while let Some(message) = client.receive().await {
///     match message {
///         Received::Request(request) => client.reply(&request, request.payload.clone()),
///         Received::Event(event) => client.ack(&event),
///     }
/// }
/// # Ok(()) }
/// ```
pub struct GatewayClient {
    gateway: Gateway,
    supervisor: Addr<Supervisor>,
    incoming: Mutex<mpsc::UnboundedReceiver<Received>>,
    grace: Duration,
}

impl std::fmt::Debug for GatewayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayClient")
            .field("gateway", &self.gateway)
            .finish()
    }
}

/// Hands deliveries to the client's receive queue.
struct RawChannel {
    tx: mpsc::UnboundedSender<Received>,
}

impl Dispatch for RawChannel {
    fn deliver(
        &mut self,
        delivery: Delivery,
        gateway: &Gateway,
        _now: std::time::Instant,
    ) -> Option<Settle> {
        let tx = self.tx.clone();
        let gateway = gateway.clone();
        // a claim check is fetched first: on this thread, without blocking the supervisor
        actix_rt::spawn(async move {
            let Delivery {
                key,
                kind,
                headers,
                payload,
                deadline: _,
            } = delivery;
            let payload = match crate::claim_check::incoming(gateway.claims(), payload).await {
                Ok(json) => json,
                Err(error) => {
                    let outcome = match kind {
                        DeliveryKind::Request { .. } => Outcome::Failed(error.to_wire()),
                        DeliveryKind::Event { .. } if error.is_transient() => Outcome::EventHeld,
                        DeliveryKind::Event { .. } => Outcome::EventDone,
                    };
                    gateway.settled(Settle { key, outcome });
                    return;
                }
            };
            let id = key.id;
            let received = match kind {
                DeliveryKind::Request { route, from } => Received::Request(Request {
                    id,
                    route,
                    from,
                    headers,
                    payload,
                }),
                DeliveryKind::Event { topic } => Received::Event(Event {
                    id,
                    topic,
                    headers,
                    payload,
                }),
            };
            // a dropped receiver means the client is gone: the message stays
            // unsettled and the gateway redelivers it after the close
            let _ = tx.send(received);
        });
        None
    }

    fn lifecycle(&mut self, _event: Lifecycle, _gateway: &Gateway) {}
}

impl GatewayClient {
    /// Starts the connection in the background (inside an actix system) and
    /// returns at once; see [`GatewayClient::is_connected`].
    ///
    /// # Errors
    /// [`Error::Logging`] when the log sink cannot start; [`Error::NoSystem`]
    /// outside an actix system; [`Error::S3`] for unusable S3 settings;
    /// [`Error::Tls`] for a bad CA file; [`Error::InvalidName`] for a name
    /// the gateway would refuse.
    pub fn connect(config: &Config, registration: Registration) -> Result<Self, Error> {
        let boot = Boot::prepare(config, registration)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let (supervisor, gateway) = boot.start(config, Box::new(RawChannel { tx }))?;
        Ok(Self {
            gateway,
            supervisor,
            incoming: Mutex::new(rx),
            grace: config.tuning.shutdown_grace,
        })
    }

    /// True while the gateway has welcomed this client.
    pub fn is_connected(&self) -> bool {
        self.gateway.is_connected()
    }

    /// The connection, for `request`, `publish` and state changes.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// The next request or event; `None` once the client is closed.
    pub async fn receive(&self) -> Option<Received> {
        self.incoming.lock().await.recv().await
    }

    /// Settles a request with a reply (sent by claim check when it is big and
    /// S3 is configured).
    pub fn reply(&self, request: &Request, payload: Json) {
        let gateway = self.gateway.clone();
        let id = request.id.clone();
        let from = request.from.clone();
        actix_rt::spawn(async move {
            let outcome = match crate::claim_check::outgoing(gateway.claims(), payload).await {
                Ok(payload) => Outcome::Reply(payload),
                Err(error) => Outcome::Failed(error),
            };
            gateway.settle(id, from.as_deref(), outcome);
        });
    }

    /// Settles a request with an error.
    pub fn fail(&self, request: &Request, error: HandlerError) {
        self.gateway.settle(
            request.id.clone(),
            request.from.as_deref(),
            Outcome::Failed(error.into_wire()),
        );
    }

    /// Acknowledges an event: it will not be redelivered.
    pub fn ack(&self, event: &Event) {
        self.gateway
            .settle(event.id.clone(), None, Outcome::EventDone);
    }

    /// Closes gracefully: unsettled requests are handed back to the gateway,
    /// unacknowledged frames flushed, close 1001.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use ms_runtime::{Config, GatewayClient, Registration};
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = GatewayClient::connect(&Config::from_env()?, Registration::new("ocr", ["extract"]))?;
    /// client.gateway().wait_connected(Duration::from_secs(10)).await;
    /// println!("connected: {}", client.is_connected());
    /// // ... receive and settle messages ...
    /// client.close().await;
    /// # Ok(()) }
    /// ```
    pub async fn close(self) {
        gateway::stop(&self.supervisor, self.grace).await;
    }
}
