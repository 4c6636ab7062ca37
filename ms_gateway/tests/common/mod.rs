//! Shared helpers of the end-to-end tests: a gateway on a free port, a fake
//! service over a plain websocket client, and a minimal HTTP/1.1 client.
#![allow(dead_code)] // each test binary uses a different subset
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

pub mod cluster;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt as _, StreamExt as _};
use ms_gateway::{Gateway, GatewayConfig, RunningGateway, User};
use ms_protocol::{Body, Envelope, Hello, Json, MessageId, Payload, decode, encode};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::{Message, http::HeaderValue};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The user every test connects as.
pub const USER: &str = "svc:pw";

/// How long any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// Awaits `future` or fails naming `what` did not happen.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(WAIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// A gateway on 127.0.0.1:0 with user svc:pw, after `configure`.
pub fn start(configure: impl FnOnce(&mut GatewayConfig)) -> RunningGateway {
    let mut config = GatewayConfig::new("127.0.0.1:0".parse().unwrap());
    config.users.add_user(User::parse(USER).unwrap());
    configure(&mut config);
    Gateway::start(config).unwrap()
}

/// `Authorization: Basic` for `NAME:PASSWORD`.
pub fn basic(pair: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// A websocket client standing in for a service.
pub struct FakeService {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// Opens a websocket with this `Authorization` value.
pub async fn open(
    gateway: &RunningGateway,
    auth: Option<&str>,
) -> Result<FakeService, tokio_tungstenite::tungstenite::Error> {
    let mut request = gateway.ws_url().into_client_request()?;
    if let Some(auth) = auth {
        request
            .headers_mut()
            .insert("Authorization", HeaderValue::from_str(auth).unwrap());
    }
    let (ws, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(FakeService { ws })
}

/// The hello of service `service`, instance `instance`, route `echo`, topic `news`.
pub fn hello(service: &str, instance: &str, max_in_flight: u32) -> Envelope {
    Envelope::new(Body::Hello(Hello {
        service: service.into(),
        instance: instance.into(),
        routes: vec!["echo".into()],
        topics: vec!["news".into()],
        max_in_flight,
        version: "1.0.0".into(),
    }))
}

/// Connects as svc:pw, says hello and waits for welcome.
pub async fn connect(
    gateway: &RunningGateway,
    service: &str,
    instance: &str,
    max_in_flight: u32,
) -> FakeService {
    let mut svc = within("the websocket handshake", open(gateway, Some(&basic(USER))))
        .await
        .unwrap();
    svc.send(&hello(service, instance, max_in_flight)).await;
    let welcome = svc.recv("welcome").await;
    assert!(matches!(welcome.body, Body::Welcome(_)), "{welcome:?}");
    svc
}

impl FakeService {
    /// Sends one envelope.
    pub async fn send(&mut self, envelope: &Envelope) {
        self.send_text(&encode(envelope).unwrap()).await;
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::Text(text.into())).await.unwrap();
    }

    /// The next websocket message that is not a ping or pong.
    pub async fn next_message(&mut self, what: &str) -> Option<Message> {
        within(what, async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(message)) => return Some(message),
                    Some(Err(_)) | None => return None,
                }
            }
        })
        .await
    }

    /// The next frame, acks included.
    pub async fn recv_any(&mut self, what: &str) -> Envelope {
        match self.next_message(what).await {
            Some(Message::Text(text)) => decode(text.as_str()).unwrap(),
            other => panic!("expected a text frame ({what}), got {other:?}"),
        }
    }

    /// The next frame that is not an ack.
    pub async fn recv(&mut self, what: &str) -> Envelope {
        loop {
            let envelope = self.recv_any(what).await;
            if !matches!(envelope.body, Body::Ack(_)) {
                return envelope;
            }
        }
    }

    /// Replies `payload` to `request`.
    pub async fn reply(&mut self, request: &Envelope, payload: serde_json::Value) {
        let reply = Envelope::reply_to(
            &request.id,
            Payload::Inline(Json::from_value(&payload).unwrap()),
        );
        self.send(&reply).await;
    }

    /// Acks `ids`.
    pub async fn ack(&mut self, ids: Vec<MessageId>) {
        self.send(&Envelope::ack(ids)).await;
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    /// A header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }
}

/// One HTTP/1.1 request with `Connection: close`; reads the whole answer.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> HttpResponse {
    within(&format!("the answer to {method} {path}"), async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        parse_response(&raw)
    })
    .await
}

/// `http` with Basic auth as svc:pw.
pub async fn post(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> HttpResponse {
    let auth = basic(USER);
    let mut all = vec![("Authorization", auth.as_str())];
    all.extend_from_slice(headers);
    http(addr, "POST", path, &all, body).await
}

/// `GET` with Basic auth as svc:pw.
pub async fn get(addr: SocketAddr, path: &str) -> HttpResponse {
    let auth = basic(USER);
    http(addr, "GET", path, &[("Authorization", auth.as_str())], "").await
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// The value of one metric family, read from `GET /metrics`: its only
/// sample, or the sum of its labelled samples (0 when it has none yet).
pub async fn metric(addr: SocketAddr, name: &str) -> u64 {
    let response = get(addr, "/metrics").await;
    assert_eq!(response.status, 200);
    let total: f64 = samples(&response.body, name).iter().map(|(_, v)| v).sum();
    total as u64
}

/// Waits until the gateway at `addr` shows `connections` connections of
/// `service` in its `/metrics` (`ms_gateway_connections`, read as the
/// user `pair`). The gauge is read under the hub's lock, so 0 after a
/// session means its disconnect has run in full. In a cluster, a service a
/// node has only learned from another node's announcement shows 0, so `0`
/// also means "this node knows the service and its topics".
pub async fn until_connections_as(addr: SocketAddr, pair: &str, service: &str, connections: usize) {
    let label = format!("{{service=\"{service}\"}}");
    let what = format!("{connections} connection(s) of {service} on {addr}");
    within(&what, async {
        loop {
            let auth = basic(pair);
            let scrape = http(
                addr,
                "GET",
                "/metrics",
                &[("Authorization", auth.as_str())],
                "",
            )
            .await
            .body;
            let shown = samples(&scrape, "ms_gateway_connections")
                .into_iter()
                .any(|(labels, value)| labels == label && value == connections as f64);
            if shown {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// [`until_connections_as`] as the tests' usual user.
pub async fn until_connections(addr: SocketAddr, service: &str, connections: usize) {
    until_connections_as(addr, USER, service, connections).await;
}

/// Every sample of family `name` in a scrape: its labels (`{...}` or
/// empty) and value. Fails when the scrape does not declare the family.
pub fn samples(scrape: &str, name: &str) -> Vec<(String, f64)> {
    let family = ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(name);
    let declared = |family: &str| {
        scrape.lines().any(|l| {
            l.strip_prefix("# TYPE ")
                .and_then(|t| t.strip_prefix(family))
                .is_some_and(|t| t.starts_with(' '))
        })
    };
    assert!(
        declared(name) || declared(family),
        "no metric family {name} in\n{scrape}"
    );
    scrape
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?;
            let (labels, value) = match rest.strip_prefix('{') {
                Some(labelled) => {
                    let (labels, value) = labelled.split_once("} ")?;
                    (format!("{{{labels}}}"), value)
                }
                None => (String::new(), rest.strip_prefix(' ')?),
            };
            Some((labels, value.trim().parse().unwrap()))
        })
        .collect()
}

/// Runs `promtool check metrics` on a scrape; fails with its findings.
pub fn promtool_check(scrape: &str) {
    use std::io::Write as _;
    let spawned = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => panic!(
            "cannot run promtool ({e}): install the Debian package `prometheus` \
             (scripts/test does) to check scrapes with `promtool check metrics`"
        ),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(scrape.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics failed:\n{}{}\nscrape:\n{scrape}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The rest of a started binary's stdout, line by line.
pub type StdoutLines = tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>;

/// Reads the first stdout line of a started `ms-gateway` (spawned with
/// `stdout(Stdio::piped())`), `listening on ADDR`: the address, and the
/// rest of its stdout.
pub async fn listening(child: &mut tokio::process::Child) -> (SocketAddr, StdoutLines) {
    use tokio::io::AsyncBufReadExt as _;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = within("the listening line", lines.next_line())
        .await
        .unwrap()
        .unwrap();
    let addr = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("not a listening line: {first:?}"))
        .parse()
        .unwrap();
    (addr, lines)
}

/// Sends SIGTERM to a started binary (the signal container platforms stop with).
pub async fn sigterm(child: &tokio::process::Child) {
    let pid = child.id().unwrap().to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
}

/// A websocket opened by hand over TCP, for frames a polite client cannot
/// send: after the upgrade, bytes go to the gateway exactly as written.
pub struct RawSocket {
    pub tcp: TcpStream,
}

impl RawSocket {
    /// Upgrades a plain TCP connection to `/v1/ws` as user svc:pw.
    pub async fn open(gateway: &RunningGateway) -> RawSocket {
        let mut tcp = TcpStream::connect(gateway.addr()).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let request = format!(
            "GET /v1/ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Authorization: {}\r\n\r\n",
            gateway.addr(),
            basic(USER)
        );
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(tcp.read(&mut byte).await.unwrap(), 1, "upgrade answer cut");
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        RawSocket { tcp }
    }

    /// Writes a masked client frame header for `len` payload bytes (mask 0,
    /// so the payload bytes that follow go as written).
    pub async fn header(&mut self, opcode_and_fin: u8, len: u64) {
        let mut h = vec![opcode_and_fin];
        if len < 126 {
            h.push(0x80 | len as u8);
        } else if len <= 0xFFFF {
            h.push(0x80 | 126);
            h.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            h.push(0x80 | 127);
            h.extend_from_slice(&len.to_be_bytes());
        }
        h.extend_from_slice(&[0, 0, 0, 0]);
        self.tcp.write_all(&h).await.unwrap();
    }

    /// A whole masked text frame.
    pub async fn text(&mut self, text: &[u8]) {
        self.header(0x81, text.len() as u64).await;
        self.tcp.write_all(text).await.unwrap();
    }

    /// Reads server frames until a close frame; its code, or `None` when
    /// the connection ends without one.
    pub async fn close_code(&mut self) -> Option<u16> {
        read_close_code(&mut self.tcp).await
    }
}

/// Reads one server frame: its opcode and payload; `None` when the
/// connection ends.
pub async fn read_frame<R: tokio::io::AsyncRead + Unpin>(read: &mut R) -> Option<(u8, Vec<u8>)> {
    let mut h = [0u8; 2];
    read.read_exact(&mut h).await.ok()?;
    let len = match h[1] & 0x7F {
        126 => {
            let mut b = [0u8; 2];
            read.read_exact(&mut b).await.ok()?;
            u64::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            read.read_exact(&mut b).await.ok()?;
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    };
    let mut payload = vec![0u8; len as usize];
    read.read_exact(&mut payload).await.ok()?;
    Some((h[0] & 0x0F, payload))
}

/// Reads server frames from `read` until a close frame; its code, or `None`
/// when the connection ends without one.
pub async fn read_close_code<R: tokio::io::AsyncRead + Unpin>(read: &mut R) -> Option<u16> {
    loop {
        let (opcode, payload) = read_frame(read).await?;
        if opcode == 8 {
            return payload
                .get(..2)
                .map(|code| u16::from_be_bytes([code[0], code[1]]));
        }
    }
}
