//! `ms-gateway`: the reference communication gateway. Parses the command
//! line, starts [`ms_gateway::Gateway`], prints `listening on ADDR`, and
//! stops gracefully on SIGINT or SIGTERM. `ms-gateway hash-password` reads a
//! password on stdin and prints its argon2id hash for a users file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ms_gateway::{
    ClusterConfig, DevS3Config, Gateway, GatewayConfig, NatsAuth, Secret, TlsFiles, Token, User,
};

mod cli_log;

use cli_log::{LogFormat, LogLevel};

/// `--version`: says whether spans are exported (feature `otel`), so a test
/// or an operator can check the binary they run.
const VERSION: &str = if ms_gateway::OTEL_COMPILED {
    concat!(env!("CARGO_PKG_VERSION"), " (otel)")
} else {
    env!("CARGO_PKG_VERSION")
};

/// The reference communication gateway for ms_runtime services.
#[derive(Debug, Parser)]
#[command(name = "ms-gateway", version = VERSION, about)]
struct Cli {
    /// Something else than serving.
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, env = "MS_GATEWAY_BIND", default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// A user as NAME:PASSWORD; repeat for more (env: comma-separated).
    #[arg(
        long = "user",
        env = "MS_GATEWAY_USERS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    users: Vec<String>,
    /// TOML file of users (password, password_sha256 or password_hash; what each may do) and tokens.
    #[arg(long, env = "MS_GATEWAY_USERS_FILE")]
    users_file: Option<PathBuf>,
    /// A bearer token accepted in `Authorization: Bearer`; repeat for more.
    #[arg(
        long = "token",
        env = "MS_GATEWAY_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    tokens: Vec<String>,
    /// PEM certificate chain: serve wss:// and https://.
    #[arg(long, env = "MS_GATEWAY_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "MS_GATEWAY_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Idle time before a ping, sent in welcome; 3 silent intervals drop a peer.
    #[arg(long, env = "MS_GATEWAY_HEARTBEAT_MS", default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..))]
    heartbeat_ms: u64,
    /// Largest frame, sent in welcome.
    #[arg(long, env = "MS_GATEWAY_MAX_FRAME_BYTES", default_value_t = 16 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024..))]
    max_frame_bytes: u64,
    /// Most requests and events waiting per service before `overloaded`.
    #[arg(long, env = "MS_GATEWAY_QUEUE_LIMIT", default_value_t = 1024)]
    queue_limit: usize,
    /// How long a shutdown waits for requests in flight.
    #[arg(long, env = "MS_GATEWAY_SHUTDOWN_GRACE_MS", default_value_t = 5_000)]
    shutdown_grace_ms: u64,
    /// Most unsettled deliveries per connection, whatever hello asks.
    #[arg(long, env = "MS_GATEWAY_MAX_IN_FLIGHT", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    max_in_flight: u32,
    /// Furthest deadline a caller may ask for, in ms.
    #[arg(long, env = "MS_GATEWAY_MAX_DEADLINE_MS", default_value_t = 300_000, value_parser = clap::value_parser!(u64).range(1..))]
    max_deadline_ms: u64,
    /// Most bytes of work held over all services.
    #[arg(long, env = "MS_GATEWAY_MAX_HELD_BYTES", default_value_t = 256 << 20)]
    max_held_bytes: u64,
    /// Most service names known at once.
    #[arg(long, env = "MS_GATEWAY_MAX_SERVICES", default_value_t = 10_000)]
    max_services: usize,
    /// How long a service name without instances (and its subscriptions) is kept, in ms.
    #[arg(long, env = "MS_GATEWAY_SERVICE_TTL_MS", default_value_t = 600_000)]
    service_ttl_ms: u64,
    /// How long a request for a service that never registered waits for it, in ms.
    #[arg(long, env = "MS_GATEWAY_UNKNOWN_SERVICE_WAIT_MS", default_value_t = ms_gateway::router::DEFAULT_UNKNOWN_SERVICE_WAIT_MS)]
    unknown_service_wait_ms: u64,
    /// Most bytes queued for one session's socket before its peer is dropped.
    #[arg(long, env = "MS_GATEWAY_MAX_OUTBOUND_BYTES", default_value_t = 64 << 20)]
    max_outbound_bytes: u64,
    /// Longest an HTTP body may take to arrive, in ms.
    #[arg(long, env = "MS_GATEWAY_BODY_TIMEOUT_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..))]
    body_timeout_ms: u64,
    /// HTTP worker threads.
    #[arg(long, env = "MS_GATEWAY_WORKERS", default_value_t = 2)]
    workers: usize,
    /// Dev mode: serve an S3-compatible store in-process, and add user dev:dev
    /// unless --user, --users-file or --token says who may connect.
    #[arg(long, env = "MS_GATEWAY_DEV")]
    dev: bool,
    /// Where the dev S3 store listens.
    #[arg(long, env = "MS_GATEWAY_S3_BIND", default_value = "127.0.0.1:9000")]
    s3_bind: SocketAddr,
    /// Folder of the dev S3 store (default: ms-gateway-s3 under the system temp dir).
    #[arg(long, env = "MS_GATEWAY_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Cluster mode: NATS server URLs, comma-separated (docs/cluster.md).
    #[arg(
        long,
        env = "MS_GATEWAY_NATS",
        value_delimiter = ',',
        requires = "node"
    )]
    nats: Vec<String>,
    /// This node's name, unique in the cluster ([A-Za-z0-9_-]).
    #[arg(long, env = "MS_GATEWAY_NODE")]
    node: Option<String>,
    /// NATS credentials file (.creds).
    #[arg(long, env = "MS_GATEWAY_NATS_CREDS")]
    nats_creds: Option<PathBuf>,
    /// NATS user (with --nats-password).
    #[arg(long, env = "MS_GATEWAY_NATS_USER", requires = "nats_password")]
    nats_user: Option<String>,
    /// NATS password.
    #[arg(long, env = "MS_GATEWAY_NATS_PASSWORD", hide_env_values = true)]
    nats_password: Option<String>,
    /// NATS token.
    #[arg(long, env = "MS_GATEWAY_NATS_TOKEN", hide_env_values = true)]
    nats_token: Option<String>,
    /// PEM CA file that signed the NATS servers' certificates (TLS required then).
    #[arg(long, env = "MS_GATEWAY_NATS_TLS_CA")]
    nats_tls_ca: Option<PathBuf>,
    /// Replicas of the cluster's streams (3 on a 3-server NATS cluster).
    #[arg(long, env = "MS_GATEWAY_NATS_REPLICAS", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=5))]
    nats_replicas: u64,
    /// How long work taken by a silent node waits before another node gets it, in ms.
    #[arg(long, env = "MS_GATEWAY_NATS_ACK_WAIT_MS", default_value_t = ms_gateway::DEFAULT_ACK_WAIT_MS, value_parser = clap::value_parser!(u64).range(300..))]
    nats_ack_wait_ms: u64,
    /// How long the node keeps trying what JetStream cannot take yet (no
    /// stream leader, a server still starting), in ms: publishing work and
    /// answers, and connecting and creating the streams at start.
    #[arg(long, env = "MS_GATEWAY_NATS_PATIENCE_MS", default_value_t = ms_gateway::DEFAULT_PATIENCE_MS)]
    nats_patience_ms: u64,
    /// Serve GET /metrics without credentials (for a scraper on a trusted network).
    #[arg(long, env = "MS_GATEWAY_METRICS_PUBLIC")]
    metrics_public: bool,
    /// Most (service, route) label sets in /metrics; past it, service="(other)", route="(other)".
    #[arg(long, env = "MS_GATEWAY_METRICS_MAX_SERIES", default_value_t = ms_gateway::router::DEFAULT_MAX_SERIES)]
    metrics_max_series: usize,
    /// Least severe log lines written: trace, debug, info, warn (warning), error, critical, off.
    #[arg(long, env = "MS_GATEWAY_LOG_LEVEL", default_value = "debug")]
    log_level: LogLevel,
    /// How log lines are written on stderr.
    #[arg(long, env = "MS_GATEWAY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Term)]
    log_format: LogFormat,
}

/// What the binary can do besides serving.
#[derive(Debug, Subcommand)]
enum Command {
    /// Read a password on stdin (one line) and print its argon2id hash, the
    /// `password_hash` of a users file.
    HashPassword,
}

/// Dev mode's user and S3 keys: well known, for a laptop only.
const DEV_USER: &str = "dev";
const DEV_PASSWORD: &str = "dev";
const DEV_ACCESS_KEY: &str = "ms-dev-access";
const DEV_SECRET_KEY: &str = "ms-dev-secret";

/// Whether `--dev` adds its well-known user: only when no other credential
/// is configured, so that a real user list never gains `dev:dev`.
fn adds_dev_user(cli: &Cli) -> bool {
    cli.dev && cli.users.is_empty() && cli.users_file.is_none() && cli.tokens.is_empty()
}

fn config(cli: Cli, logger: slog::Logger) -> ms_gateway::Result<GatewayConfig> {
    let dev_user = adds_dev_user(&cli);
    let mut config = GatewayConfig::new(cli.bind);
    config.logger = logger;
    for pair in &cli.users {
        config.users.add_user(User::parse(pair)?);
    }
    if let Some(file) = &cli.users_file {
        config.users.load_file(file)?;
    }
    for (i, token) in cli.tokens.iter().enumerate() {
        config.users.add_token(Token::new(
            format!("token{}", i + 1),
            &Secret::new(token.as_str()),
        ));
    }
    config.tls = match (cli.tls_cert, cli.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        (None, None) => None,
        _ => return Err(ms_gateway::Error::TlsPair),
    };
    config.heartbeat_ms = cli.heartbeat_ms;
    config.max_frame_bytes = cli.max_frame_bytes;
    config.queue_limit = cli.queue_limit;
    config.max_in_flight = cli.max_in_flight;
    config.max_deadline_ms = cli.max_deadline_ms;
    config.max_held_bytes = cli.max_held_bytes;
    config.max_services = cli.max_services;
    config.service_ttl_ms = cli.service_ttl_ms;
    config.unknown_service_wait_ms = cli.unknown_service_wait_ms;
    config.max_outbound_bytes = cli.max_outbound_bytes;
    config.body_timeout_ms = cli.body_timeout_ms;
    config.shutdown_grace_ms = cli.shutdown_grace_ms;
    config.workers = cli.workers;
    config.metrics_public = cli.metrics_public;
    config.metrics_max_series = cli.metrics_max_series;
    if !cli.nats.is_empty() {
        let node = cli.node.clone().unwrap_or_default();
        let valid = (1..=64).contains(&node.len())
            && node
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
        if !valid {
            return Err(ms_gateway::Error::InvalidNode(node));
        }
        let mut cluster = ClusterConfig::new(cli.nats.clone(), node);
        cluster.auth = match (
            &cli.nats_creds,
            &cli.nats_user,
            &cli.nats_password,
            &cli.nats_token,
        ) {
            (Some(path), _, _, _) => NatsAuth::CredsFile(path.clone()),
            (None, Some(user), Some(password), _) => NatsAuth::UserPassword {
                user: user.clone(),
                password: Secret::new(password.as_str()),
            },
            (None, _, _, Some(token)) => NatsAuth::Token(Secret::new(token.as_str())),
            _ => NatsAuth::None,
        };
        cluster.tls_ca = cli.nats_tls_ca.clone();
        cluster.replicas = usize::try_from(cli.nats_replicas).unwrap_or(1);
        cluster.ack_wait_ms = cli.nats_ack_wait_ms;
        cluster.patience_ms = cli.nats_patience_ms;
        config.cluster = Some(cluster);
    }
    if dev_user {
        config
            .users
            .add_user(User::new(DEV_USER, &Secret::new(DEV_PASSWORD)));
    }
    if cli.dev {
        config.dev_s3 = Some(DevS3Config {
            bind: cli.s3_bind,
            data_dir: cli
                .data_dir
                .unwrap_or_else(|| std::env::temp_dir().join("ms-gateway-s3")),
            access_key: DEV_ACCESS_KEY.to_owned(),
            secret_key: Secret::new(DEV_SECRET_KEY),
        });
    }
    Ok(config)
}

/// `ms-gateway hash-password`: one line from stdin to an argon2id PHC string.
fn hash_password_from_stdin() -> ExitCode {
    let mut line = String::new();
    if let Err(e) = std::io::stdin().read_line(&mut line) {
        eprintln!("ms-gateway: cannot read the password from stdin: {e}");
        return ExitCode::FAILURE;
    }
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        eprintln!("ms-gateway: no password on stdin (expected one line)");
        return ExitCode::FAILURE;
    }
    match ms_gateway::hash_password(&Secret::new(password)) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ms-gateway: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::HashPassword) = cli.command {
        return hash_password_from_stdin();
    }
    let logger = cli_log::logger(cli.log_level, cli.log_format);
    ms_gateway::install_crypto_provider();

    let dev = cli.dev;
    let dev_user = adds_dev_user(&cli);
    let gateway = match config(cli, logger.clone()).and_then(Gateway::start) {
        Ok(gateway) => gateway,
        Err(e) => {
            eprintln!("ms-gateway: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            return ExitCode::FAILURE;
        }
    };
    println!("listening on {}", gateway.addr());
    if dev && let Some(s3) = gateway.s3_addr() {
        let user = if dev_user {
            format!(" MS_USERNAME={DEV_USER} MS_PASSWORD={DEV_PASSWORD}")
        } else {
            String::new()
        };
        println!(
            "MS_GATEWAY_URL={}{user} MS_S3_ENDPOINT=http://{s3} MS_S3_ACCESS_KEY_ID={DEV_ACCESS_KEY} MS_S3_SECRET_ACCESS_KEY={DEV_SECRET_KEY} MS_S3_REGION=us-east-1",
            gateway.ws_url()
        );
    }
    slog::info!(logger, "gateway started"; "addr" => %gateway.addr(), "ws" => gateway.ws_url());

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ms-gateway: cannot start the signal runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        wait_for_signal().await;
        slog::info!(logger, "signal received, stopping");
        gateway.stop().await;
    });
    ExitCode::SUCCESS
}

/// Ctrl-C, or (on Unix) SIGTERM, the signal container platforms stop with.
#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Ctrl-C (Windows has no SIGTERM).
#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users_of(args: &[&str]) -> ms_gateway::Users {
        let cli = Cli::try_parse_from([&["ms-gateway"], args].concat()).unwrap();
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        config(cli, logger).unwrap().users
    }

    fn accepts(users: &ms_gateway::Users, pair: &str) -> bool {
        use base64::Engine as _;
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        );
        users.authenticate(Some(&header)).is_some()
    }

    #[test]
    fn dev_adds_dev_dev_only_when_nobody_else_is_configured() {
        assert!(accepts(&users_of(&["--dev"]), "dev:dev"));
        let with_user = users_of(&["--dev", "--user", "svc:pw"]);
        assert!(accepts(&with_user, "svc:pw") && !accepts(&with_user, "dev:dev"));
        assert!(!accepts(&users_of(&["--dev", "--token", "t0k"]), "dev:dev"));
        let file = std::env::temp_dir().join(format!("ms-gw-users-{}.toml", std::process::id()));
        std::fs::write(&file, "[[users]]\nname = \"a\"\npassword = \"pw\"\n").unwrap();
        let from_file = users_of(&["--dev", "--users-file", file.to_str().unwrap()]);
        let _ = std::fs::remove_file(&file);
        assert!(accepts(&from_file, "a:pw") && !accepts(&from_file, "dev:dev"));
    }
}
