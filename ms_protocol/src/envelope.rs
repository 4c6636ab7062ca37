use std::fmt;

use super::{Headers, MessageId, Payload, WireError};

/// One frame: `{"v": 1, "kind": ..., "id": ..., "headers": ..., ...}`.
///
/// The version is implied (this crate speaks version 1 only); the kind is
/// the variant of [`Body`].
///
/// ```
/// use ms_protocol::{Envelope, Headers, Kind, Payload};
///
/// let mut headers = Headers::new();
/// headers.set_trace_id("t-42");
/// let request = Envelope::request("ocr", "extract", Payload::inline(&3)?).with_headers(headers);
/// assert_eq!(request.kind(), Kind::Request);
///
/// let reply = Envelope::reply_to(&request.id, Payload::inline("done")?);
/// assert_eq!(reply.correlation_id(), Some(&request.id));
/// # Ok::<(), serde_json::Error>(())
/// ```
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
///
/// ```
/// use ms_protocol::{decode, Body};
///
/// let frame = r#"{"v":1,"kind":"event","id":"e1","topic":"documents.uploaded","payload":{"key":"a.pdf"}}"#;
/// match decode(frame)?.body {
///     Body::Event(event) => assert_eq!(event.topic, "documents.uploaded"),
///     other => panic!("expected an event, got {:?}", other.kind()),
/// }
/// # Ok::<(), ms_protocol::DecodeError>(())
/// ```
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
///
/// ```
/// use ms_protocol::Kind;
///
/// assert_eq!(Kind::parse("reply"), Some(Kind::Reply));
/// assert_eq!(Kind::Ack.as_str(), "ack");
/// assert_eq!(Kind::parse("ping"), None);
/// assert!(Kind::ALL.iter().all(|k| Kind::parse(k.as_str()) == Some(*k)));
/// ```
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
///
/// ```
/// use ms_protocol::{encode, Body, Envelope, Hello};
///
/// let hello = Envelope::new(Body::Hello(Hello {
///     service: "ocr".into(),
///     instance: "i-1".into(),
///     routes: vec!["extract".into()],
///     topics: vec![],
///     max_in_flight: 8,
///     version: "1.2.0".into(),
/// }));
/// assert!(encode(&hello)?.contains(r#""routes":["extract"]"#));
/// # Ok::<(), ms_protocol::EncodeError>(())
/// ```
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
///
/// ```
/// use ms_protocol::{decode, Body, DEFAULT_HEARTBEAT_MS};
///
/// let frame = decode(r#"{"v":1,"kind":"welcome","id":"w1","session":"s-7","max_frame_bytes":1048576}"#)?;
/// let Body::Welcome(welcome) = frame.body else { unreachable!() };
/// assert_eq!(welcome.session, "s-7");
/// assert_eq!(welcome.max_frame_bytes, 1_048_576);
/// assert_eq!(welcome.heartbeat_ms, DEFAULT_HEARTBEAT_MS);
/// # Ok::<(), ms_protocol::DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Welcome {
    /// Gateway-chosen session name, for logs.
    pub session: String,
    /// Idle time before each side pings; 3 silent intervals mean dead.
    pub heartbeat_ms: u64,
    /// Largest frame either side may send on this connection.
    pub max_frame_bytes: u64,
    /// Most unsettled deliveries the gateway will have outstanding on this
    /// connection: at most what `hello.max_in_flight` asked; `None` (absent
    /// on the wire) means as asked.
    pub max_in_flight: Option<u32>,
}

/// `request`: a call to `route` of service `to`.
///
/// ```
/// use ms_protocol::{Body, Envelope, Payload};
///
/// let envelope = Envelope::request("ocr", "extract", Payload::inline(&serde_json::json!({"page": 3}))?);
/// let Body::Request(request) = &envelope.body else { unreachable!() };
/// assert_eq!((request.to.as_str(), request.route.as_str()), ("ocr", "extract"));
/// assert_eq!(request.from, None); // the gateway fills it in
/// # Ok::<(), serde_json::Error>(())
/// ```
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
///
/// ```
/// use ms_protocol::{Body, Envelope, MessageId, Payload};
///
/// let request_id = MessageId::new("r1")?;
/// let envelope = Envelope::reply_to(&request_id, Payload::inline(&["a", "b"])?);
/// let Body::Reply(reply) = &envelope.body else { unreachable!() };
/// assert_eq!(reply.correlation_id, request_id);
/// assert_eq!(reply.payload.as_inline().map(|json| json.as_str()), Some(r#"["a","b"]"#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The `id` of the request answered.
    pub correlation_id: MessageId,
    /// The answer.
    pub payload: Payload,
}

/// `error`: a failure, answering the frame named by `correlation_id` if any.
///
/// ```
/// use ms_protocol::{decode, Body, ErrorCode};
///
/// let frame = r#"{"v":1,"kind":"error","id":"x1","correlation_id":"r1","error":{"code":"timeout","message":"no reply within 30s"}}"#;
/// let Body::Error(report) = decode(frame)?.body else { unreachable!() };
/// assert_eq!(report.correlation_id.as_ref().map(|id| id.as_str()), Some("r1"));
/// assert_eq!(report.error.code, ErrorCode::Timeout);
/// assert!(report.error.retryable); // left out, so it follows the code
/// # Ok::<(), ms_protocol::DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReport {
    /// The `id` of the request or frame this answers.
    pub correlation_id: Option<MessageId>,
    /// What went wrong.
    pub error: WireError,
}

/// `event`: a message to the subscribers of `topic`.
///
/// ```
/// use ms_protocol::{Body, Envelope, Payload};
///
/// let envelope = Envelope::event("documents.uploaded", Payload::inline("a.pdf")?);
/// let Body::Event(event) = &envelope.body else { unreachable!() };
/// assert_eq!(event.topic, "documents.uploaded");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The topic published to.
    pub topic: String,
    /// The event body.
    pub payload: Payload,
}

/// `ack`: ids the receiver has taken responsibility for.
///
/// ```
/// use ms_protocol::{decode, Body};
///
/// let frame = decode(r#"{"v":1,"kind":"ack","id":"a1","ids":["r1","r2"]}"#)?;
/// let Body::Ack(ack) = frame.body else { unreachable!() };
/// let ids: Vec<&str> = ack.ids.iter().map(|id| id.as_str()).collect();
/// assert_eq!(ids, ["r1", "r2"]);
/// # Ok::<(), ms_protocol::DecodeError>(())
/// ```
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
    ///
    /// ```
    /// use ms_protocol::{Ack, Body, Envelope, Kind};
    ///
    /// let envelope = Envelope::new(Body::Ack(Ack { ids: vec![] }));
    /// assert_eq!(envelope.kind(), Kind::Ack);
    /// assert!(envelope.headers.is_empty());
    /// assert_ne!(envelope.id, Envelope::new(envelope.body.clone()).id);
    /// ```
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
    ///
    /// ```
    /// use ms_protocol::{encode, Envelope, ErrorCode, MessageId, WireError};
    ///
    /// let request_id = MessageId::new("r1")?;
    /// let error = WireError::new(ErrorCode::UnknownRoute, "no route `scan`");
    /// let envelope = Envelope::error(Some(&request_id), error);
    /// assert_eq!(envelope.correlation_id(), Some(&request_id));
    /// assert!(encode(&envelope)?.contains(r#""code":"unknown_route""#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
    ///
    /// ```
    /// use ms_protocol::{encode, Envelope, MessageId};
    ///
    /// let ids = ["r1", "r2"].map(MessageId::new).into_iter().collect::<Result<Vec<_>, _>>()?;
    /// let ack = Envelope::ack(ids);
    /// assert!(encode(&ack)?.ends_with(r#""ids":["r1","r2"]}"#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ack(ids: Vec<MessageId>) -> Self {
        Self::new(Body::Ack(Ack { ids }))
    }

    /// The same envelope with `headers`.
    pub fn with_headers(mut self, headers: Headers) -> Self {
        self.headers = headers;
        self
    }

    /// The id of the frame this one answers (`reply` and `error`).
    ///
    /// ```
    /// use ms_protocol::{decode, Envelope, Payload};
    ///
    /// let reply = decode(r#"{"v":1,"kind":"reply","id":"p1","correlation_id":"r1","payload":null}"#)?;
    /// assert_eq!(reply.correlation_id().map(|id| id.as_str()), Some("r1"));
    ///
    /// let event = Envelope::event("audit", Payload::inline("checked")?);
    /// assert_eq!(event.correlation_id(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn correlation_id(&self) -> Option<&MessageId> {
        match &self.body {
            Body::Reply(reply) => Some(&reply.correlation_id),
            Body::Error(report) => report.correlation_id.as_ref(),
            _ => None,
        }
    }
}
