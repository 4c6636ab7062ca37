//! Support for the end-to-end tests: a real `ms-gateway` (in-process or as a
//! child process that can be killed), services configured for fast
//! reconnects, and an HTTP caller for the gateway's edge.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ms_gateway::{Gateway, GatewayConfig, RunningGateway, User};
use ms_runtime::testing::TestKit;
use ms_runtime::{Config, Handler};

/// The user every test service connects as, and its password: the test
/// kit's, so kits and hand-made gateways take the same callers.
pub use ms_runtime::testing::{PASSWORD, USER};

/// Starts an in-process gateway on a free port with the test user.
///
/// # Panics
/// When the gateway cannot start: the test cannot run without it.
pub fn start_gateway() -> RunningGateway {
    start_gateway_with(|_| {})
}

/// Like [`start_gateway`], with the config adjusted first.
///
/// # Panics
/// When the gateway cannot start.
pub fn start_gateway_with(adjust: impl FnOnce(&mut GatewayConfig)) -> RunningGateway {
    let mut config = GatewayConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)));
    config
        .users
        .add_user(User::parse(&format!("{USER}:{PASSWORD}")).expect("valid test user"));
    adjust(&mut config);
    Gateway::start(config).expect("the test gateway starts")
}

pub use ms_runtime::testing::fast_tuning;

/// A [`TestKit`] serving `handler` (allowed `max_in_flight` requests at once),
/// connected: the common set-up of the end-to-end tests.
///
/// # Panics
/// When the kit or the service does not start.
pub async fn serve<H: Handler>(handler: H, max_in_flight: u32) -> TestKit {
    let kit = TestKit::start().await.expect("the test kit starts");
    let config = kit
        .config_builder(handler.name())
        .max_in_flight(max_in_flight)
        .build()
        .expect("valid test config");
    kit.serve_with(config, handler)
        .await
        .expect("the service connects");
    kit
}

/// A service config pointing at `ws_url` with the test user.
///
/// # Panics
/// When the URL is invalid.
pub fn service_config(ws_url: &str, max_in_flight: u32) -> Config {
    Config::builder()
        .gateway_url(ws_url)
        .credentials(USER, PASSWORD)
        .max_in_flight(max_in_flight)
        .log_level("warning")
        .tuning(fast_tuning())
        .build()
        .expect("valid test config")
}

/// What [`raw_get`] read: the status code, the head (status line and
/// headers) and the body.
#[derive(Debug)]
pub struct RawResponse {
    /// The status code; 0 when the status line could not be read.
    pub status: u16,
    /// Status line and headers, as received.
    pub head: String,
    /// Everything after the blank line.
    pub body: String,
}

/// One `GET path` over a fresh TCP connection with `headers`, read until
/// the server closes: for the runtime's own small HTTP listener (probes,
/// `/metrics`), byte for byte as a probe or scraper sends it.
///
/// # Errors
/// When the connection or the exchange fails.
pub async fn raw_get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<RawResponse> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(addr).await?;
    let mut request = format!("GET {path} HTTP/1.1\r\nhost: test\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    socket.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    socket.read_to_string(&mut response).await?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(RawResponse {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    })
}

/// One call through the HTTP edge: status and body.
///
/// # Panics
/// Never; transport failures come back as status 0 with the error text.
pub async fn invoke(
    http_url: &str,
    service: &str,
    route: &str,
    body: &str,
    timeout_ms: u64,
) -> (u16, String) {
    invoke_with(http_url, service, route, body, timeout_ms, &[])
        .await
        .0
}

/// [`invoke`] with extra headers; also returns the `x-trace-id` answered.
pub async fn invoke_with(
    http_url: &str,
    service: &str,
    route: &str,
    body: &str,
    timeout_ms: u64,
    headers: &[(&str, &str)],
) -> ((u16, String), Option<String>) {
    let client = awc::Client::builder()
        .timeout(Duration::from_millis(timeout_ms + 5_000))
        .finish();
    let mut request = client
        .post(format!("{http_url}/v1/invoke/{service}/{route}"))
        .basic_auth(USER, PASSWORD)
        .insert_header(("content-type", "application/json"))
        .insert_header(("x-timeout-ms", timeout_ms.to_string()));
    for (name, value) in headers {
        request = request.insert_header((*name, *value));
    }
    match request.send_body(body.to_owned()).await {
        Ok(mut response) => {
            let trace = response
                .headers()
                .get("x-trace-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = response
                .body()
                .limit(64 * 1024 * 1024)
                .await
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            (
                (
                    response.status().as_u16(),
                    body.unwrap_or_else(|e| e.to_string()),
                ),
                trace,
            )
        }
        Err(e) => ((0, e.to_string()), None),
    }
}

/// Polls `condition` every 20 ms until it holds.
///
/// # Panics
/// After `timeout`, naming `what` was awaited.
pub async fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `ms-gateway` as a child process, so a test can kill it without warning.
pub struct GatewayProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl GatewayProcess {
    /// Starts the binary on `bind` (port 0 picks one) with the test user.
    ///
    /// # Panics
    /// When the binary is missing or does not report its address.
    pub fn start(bind: SocketAddr) -> Self {
        Self::start_with(bind, &[])
    }

    /// Starts the binary on `bind` with the test user and `extra`
    /// arguments (e.g. `--nats URL --node NAME` for a cluster node).
    ///
    /// # Panics
    /// When the binary is missing or does not report its address.
    pub fn start_with(bind: SocketAddr, extra: &[&str]) -> Self {
        let mut child = Command::new(workspace_binary("ms-gateway", "ms_gateway"))
            .args([
                "--bind",
                &bind.to_string(),
                "--user",
                &format!("{USER}:{PASSWORD}"),
            ])
            .args(["--heartbeat-ms", "1000"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("ms-gateway starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("ms-gateway prints its address");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from ms-gateway: {line:?}"));
        Self { child, addr }
    }

    /// The websocket URL.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/v1/ws", self.addr)
    }

    /// The HTTP base URL.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGKILL: no close frames, no goodbyes.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A binary of this workspace, next to the test executables; built first if
/// missing (a plain `cargo test -p ms_tests` does not build other packages'
/// binaries).
///
/// # Panics
/// When it cannot be found or built.
pub fn workspace_binary(name: &str, package: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/<test> -> target/debug/<name>
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(PathBuf::from)
        .expect("target directory");
    let binary = dir.join(name);
    if !binary.exists() {
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
            .args(["build", "-p", package, "--bin", name])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building {name} failed");
    }
    binary
}

/// A TCP proxy between a service and the gateway that a test can cut
/// (sockets closed, no websocket close frame) or freeze (sockets open,
/// nothing forwarded, as on a dead network path).
pub struct Proxy {
    /// Where services connect.
    pub addr: SocketAddr,
    state: std::sync::Arc<ProxyState>,
}

#[derive(Default)]
struct ProxyState {
    connections: std::sync::Mutex<Vec<tokio::task::AbortHandle>>,
    frozen: std::sync::atomic::AtomicBool,
    accepted: std::sync::atomic::AtomicUsize,
}

impl Proxy {
    /// Starts forwarding to `target`.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("proxy binds");
        let addr = listener.local_addr().expect("proxy address");
        let state = std::sync::Arc::new(ProxyState::default());
        let accept_state = state.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let Ok(outbound) = tokio::net::TcpStream::connect(target).await else {
                    continue;
                };
                let _ = inbound.set_nodelay(true);
                let _ = outbound.set_nodelay(true);
                accept_state
                    .accepted
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let (in_read, in_write) = inbound.into_split();
                let (out_read, out_write) = outbound.into_split();
                let up = tokio::spawn(pump(in_read, out_write, accept_state.clone()));
                let down = tokio::spawn(pump(out_read, in_write, accept_state.clone()));
                if let Ok(mut list) = accept_state.connections.lock() {
                    list.push(up.abort_handle());
                    list.push(down.abort_handle());
                }
            }
        });
        Self { addr, state }
    }

    /// The websocket URL through the proxy.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/v1/ws", self.addr)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.state
            .accepted
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Drops every open connection at once, without a close frame.
    pub fn cut(&self) {
        if let Ok(mut list) = self.state.connections.lock() {
            for task in list.drain(..) {
                task.abort();
            }
        }
    }

    /// Stops (or resumes) forwarding while keeping the sockets open.
    pub fn freeze(&self, frozen: bool) {
        self.state
            .frozen
            .store(frozen, std::sync::atomic::Ordering::SeqCst);
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    state: std::sync::Arc<ProxyState>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        while state.frozen.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while state.frozen.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// A service whose route `echo` answers with the request's payload.
pub struct Echo {
    /// The service name it registers as.
    pub name: &'static str,
}

impl ms_runtime::Handler for Echo {
    fn name(&self) -> &str {
        self.name
    }

    fn routes(&self) -> Vec<String> {
        vec!["echo".to_owned()]
    }

    async fn handle(
        &self,
        _ctx: &ms_runtime::Context,
        request: ms_runtime::Request,
    ) -> Result<ms_runtime::protocol::Json, ms_runtime::HandlerError> {
        Ok(request.payload)
    }
}

/// An [`Echo`] that counts its runs, for tests about a handler running once
/// per request.
pub struct CountingEcho {
    echo: Echo,
    runs: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl CountingEcho {
    /// An echo registered as `name`, and the count of its runs.
    pub fn new(name: &'static str) -> (Self, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        let runs = std::sync::Arc::default();
        let echo = Echo { name };
        (
            Self {
                echo,
                runs: std::sync::Arc::clone(&runs),
            },
            runs,
        )
    }
}

impl ms_runtime::Handler for CountingEcho {
    fn name(&self) -> &str {
        self.echo.name()
    }

    fn routes(&self) -> Vec<String> {
        self.echo.routes()
    }

    async fn handle(
        &self,
        ctx: &ms_runtime::Context,
        request: ms_runtime::Request,
    ) -> Result<ms_runtime::protocol::Json, ms_runtime::HandlerError> {
        self.runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.echo.handle(ctx, request).await
    }
}
