//! Real `nats-server` processes for tests (the Debian package, 2.9.x):
//! one server with JetStream, or three forming a cluster, on free loopback
//! ports, each with its store in a fresh temporary directory and killed
//! when dropped. Shared by the gateway's cluster tests and the end-to-end
//! tests with real services.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support: a failure is the test's failure

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A nats-server with JetStream, on free loopback ports.
pub struct NatsServer {
    child: Child,
    /// `nats://127.0.0.1:PORT`.
    pub url: String,
    /// `http://127.0.0.1:PORT` of its monitoring endpoint.
    pub monitor: String,
    _dir: tempfile::TempDir,
}

impl NatsServer {
    /// Starts one with its store in a fresh temp dir and waits until
    /// JetStream is ready.
    pub fn start() -> Self {
        Self::start_on_port(None)
    }

    /// Starts one listening for clients on `port` (a free one for `None`)
    /// and waits until JetStream is ready.
    pub fn start_on_port(port: Option<u16>) -> Self {
        let port = port.map_or_else(|| "-1".to_owned(), |p| p.to_string());
        let server = Self::spawn(&port, &[]);
        server.wait_healthy();
        server
    }

    /// Starts one with clients on `port` ("-1": a free one) and `extra`
    /// arguments; does not wait for it.
    fn spawn(port: &str, extra: &[String]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        let ports = dir.path().join("ports");
        std::fs::create_dir_all(&store).unwrap();
        std::fs::create_dir_all(&ports).unwrap();
        let child = Command::new(nats_server())
            .args(["-js", "-a", "127.0.0.1", "-p", port, "-m", "-1", "-sd"])
            .arg(&store)
            .arg("--ports_file_dir")
            .arg(&ports)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server must be installed (apt-get install -y nats-server)");
        let (url, monitor) = read_ports(&ports, child.id());
        Self {
            child,
            url,
            monitor,
            _dir: dir,
        }
    }

    /// Waits until `GET /healthz?js-enabled-only=true` answers 200.
    pub fn wait_healthy(&self) {
        wait_healthy(&self.monitor, "/healthz?js-enabled-only=true");
    }

    /// SIGKILL, no goodbye to the cluster.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Three nats-servers (`n0`, `n1`, `n2`) forming one NATS cluster with
/// JetStream, on free loopback ports; each killed on drop.
pub struct NatsCluster {
    /// The members, by index; `None` once killed.
    pub servers: Vec<Option<NatsServer>>,
    /// Their server names, by index.
    pub names: Vec<String>,
    /// Every member's client URL, by index.
    pub urls: Vec<String>,
}

impl NatsCluster {
    /// Starts three members and waits until JetStream is ready on each.
    pub fn start() -> Self {
        // Route ports must be known up front: free ones, released just
        // before the servers bind them (a small race).
        let route_ports: Vec<u16> = (0..3)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
            .collect::<Vec<_>>()
            .iter()
            .map(|l| l.local_addr().unwrap().port())
            .collect();
        let routes = route_ports
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",");
        let names: Vec<String> = (0..3).map(|i| format!("n{i}")).collect();
        let servers: Vec<NatsServer> = route_ports
            .iter()
            .zip(&names)
            .map(|(port, name)| {
                NatsServer::spawn(
                    "-1",
                    &[
                        "-n".to_owned(),
                        name.clone(),
                        "--cluster_name".to_owned(),
                        "C".to_owned(),
                        "--cluster".to_owned(),
                        format!("nats://127.0.0.1:{port}"),
                        "--routes".to_owned(),
                        routes.clone(),
                    ],
                )
            })
            .collect();
        // `js-enabled-only` answers 200 before the members have elected a
        // meta leader (JetStream requests are then dropped); the full
        // check waits for one.
        for server in &servers {
            wait_healthy(&server.monitor, "/healthz");
        }
        let urls = servers.iter().map(|s| s.url.clone()).collect();
        Self {
            servers: servers.into_iter().map(Some).collect(),
            names,
            urls,
        }
    }

    /// SIGKILLs the member named `name`.
    pub fn kill(&mut self, name: &str) {
        let index = self
            .names
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("no nats-server named {name}"));
        if let Some(mut server) = self.servers[index].take() {
            server.kill();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn nats_server() -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin"] {
        let path = Path::new(dir).join("nats-server");
        if path.exists() {
            return path;
        }
    }
    PathBuf::from("nats-server")
}

/// The client URL and the monitoring address from the ports file.
fn read_ports(dir: &Path, pid: u32) -> (String, String) {
    let file = dir.join(format!("nats-server_{pid}.ports"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = std::fs::read_to_string(&file)
            && let Ok(json) = serde_json::from_str::<serde_json::Value>(&text)
        {
            let url = json["nats"][0].as_str().unwrap().to_owned();
            let monitor = json["monitoring"][0].as_str().unwrap().to_owned();
            return (url, monitor);
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the nats-server ports file"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for `GET path` (a health check) to answer 200.
fn wait_healthy(monitor: &str, path: &str) {
    let addr = monitor.trim_start_matches("http://").to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(mut stream) = std::net::TcpStream::connect(&addr) {
            use std::io::{Read as _, Write as _};
            let _ = stream.write_all(
                format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
            let mut raw = String::new();
            let _ = stream.read_to_string(&mut raw);
            if raw.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for nats-server healthz"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
