use std::fmt;

use super::{Headers, MessageId, Payload, WireError};

/// One frame: `{"v": 1, "kind": ..., "id": ..., "headers": ..., ...}`.
///
/// The version is implied (this crate speaks version 1 only); the kind is
/// the variant of [`Body`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Unique per sender; acks, replies and the dedup window refer to it.
    pub id: MessageId,
    /// Optional string headers; empty headers are left out on the wire.
    pub headers: Headers,
    /// The kind and its fields.
    pub body: Body,
}

/// The kind of an envelope with the fields that kind carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// Service -> gateway, the first frame of a session.
    Hello(Hello),
    /// Gateway -> service, the answer to `hello`.
    Welcome(Welcome),
    /// A call to a route of a service.
    Request(Request),
    /// The successful answer to a request.
    Reply(Reply),
    /// A failure, answering a request or a frame.
    Error(ErrorReport),
    /// A message to every service subscribed to a topic.
    Event(Event),
    /// The sender of these ids may forget them: the receiver has them.
    Ack(Ack),
}

/// The seven kinds, without their fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `hello`
    Hello,
    /// `welcome`
    Welcome,
    /// `request`
    Request,
    /// `reply`
    Reply,
    /// `error`
    Error,
    /// `event`
    Event,
    /// `ack`
    Ack,
}

impl Kind {
    /// Every kind, in the protocol's table order.
    pub const ALL: [Kind; 7] = [
        Self::Hello,
        Self::Welcome,
        Self::Request,
        Self::Reply,
        Self::Error,
        Self::Event,
        Self::Ack,
    ];

    /// The kind as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hello => "hello",
            Self::Welcome => "welcome",
            Self::Request => "request",
            Self::Reply => "reply",
            Self::Error => "error",
            Self::Event => "event",
            Self::Ack => "ack",
        }
    }

    /// Reads a wire kind.
    pub fn parse(kind: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == kind)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `hello`: who the service is and what it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// The service name requests are addressed to.
    pub service: String,
    /// This instance's name, unique among the service's instances.
    pub instance: String,
    /// Routes this service answers; others get `unknown_route` from the gateway.
    pub routes: Vec<String>,
    /// Event topics this service subscribes to.
    pub topics: Vec<String>,
    /// Most unsettled requests and unacked events the gateway may hand over at once (>= 1).
    pub max_in_flight: u32,
    /// The service's own version string.
    pub version: String,
}

/// `welcome`: the gateway accepted the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Welcome {
    /// Gateway-chosen session name, for logs.
    pub session: String,
    /// Idle time before each side pings; 3 silent intervals mean dead.
    pub heartbeat_ms: u64,
    /// Largest frame either side may send on this connection.
    pub max_frame_bytes: u64,
}

/// `request`: a call to `route` of service `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The service addressed.
    pub to: String,
    /// The route within that service.
    pub route: String,
    /// Set by the gateway: "service/instance" or "http".
    pub from: Option<String>,
    /// The request body.
    pub payload: Payload,
}

/// `reply`: the successful answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The `id` of the request answered.
    pub correlation_id: MessageId,
    /// The answer.
    pub payload: Payload,
}

/// `error`: a failure, answering the frame named by `correlation_id` if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReport {
    /// The `id` of the request or frame this answers.
    pub correlation_id: Option<MessageId>,
    /// What went wrong.
    pub error: WireError,
}

/// `event`: a message to the subscribers of `topic`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The topic published to.
    pub topic: String,
    /// The event body.
    pub payload: Payload,
}

/// `ack`: ids the receiver has taken responsibility for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// Acknowledged ids, possibly many in one frame.
    pub ids: Vec<MessageId>,
}

impl Body {
    /// The kind of this body.
    pub fn kind(&self) -> Kind {
        match self {
            Self::Hello(_) => Kind::Hello,
            Self::Welcome(_) => Kind::Welcome,
            Self::Request(_) => Kind::Request,
            Self::Reply(_) => Kind::Reply,
            Self::Error(_) => Kind::Error,
            Self::Event(_) => Kind::Event,
            Self::Ack(_) => Kind::Ack,
        }
    }
}

impl Envelope {
    /// An envelope with a fresh random id and no headers.
    pub fn new(body: Body) -> Self {
        Self {
            id: MessageId::random(),
            headers: Headers::new(),
            body,
        }
    }

    /// The kind of this envelope.
    pub fn kind(&self) -> Kind {
        self.body.kind()
    }

    /// A `request` to `route` of service `to`.
    pub fn request(to: impl Into<String>, route: impl Into<String>, payload: Payload) -> Self {
        Self::new(Body::Request(Request {
            to: to.into(),
            route: route.into(),
            from: None,
            payload,
        }))
    }

    /// A `reply` settling the request `request_id`.
    pub fn reply_to(request_id: &MessageId, payload: Payload) -> Self {
        Self::new(Body::Reply(Reply {
            correlation_id: request_id.clone(),
            payload,
        }))
    }

    /// An `error`, answering `correlation_id` when given.
    pub fn error(correlation_id: Option<&MessageId>, error: WireError) -> Self {
        Self::new(Body::Error(ErrorReport {
            correlation_id: correlation_id.cloned(),
            error,
        }))
    }

    /// An `event` on `topic`.
    pub fn event(topic: impl Into<String>, payload: Payload) -> Self {
        Self::new(Body::Event(Event {
            topic: topic.into(),
            payload,
        }))
    }

    /// An `ack` of `ids`.
    pub fn ack(ids: Vec<MessageId>) -> Self {
        Self::new(Body::Ack(Ack { ids }))
    }

    /// The same envelope with `headers`.
    pub fn with_headers(mut self, headers: Headers) -> Self {
        self.headers = headers;
        self
    }

    /// The id of the frame this one answers (`reply` and `error`).
    pub fn correlation_id(&self) -> Option<&MessageId> {
        match &self.body {
            Body::Reply(reply) => Some(&reply.correlation_id),
            Body::Error(report) => report.correlation_id.as_ref(),
            _ => None,
        }
    }
}
