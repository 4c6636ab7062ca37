//! The demo: starts an embedded gateway with its S3-compatible store (no
//! external gateway, no account needed), runs two services through it
//! (`notes` calls `tagger`; `tagger` hears the event `notes` publishes),
//! and takes them through every part of the runtime:
//! typed routes, a call to a second service, an event, structured logs,
//! S3 uploads and downloads with progress bars, and a claim check for a
//! payload too big to travel inline. It prints what happens and the `curl`
//! commands to try it by hand, then serves until Ctrl-C (or exits at once
//! with `--once`).
//!
//! `cargo run -p example-quickstart` (add `-- --once` to stop after the tour).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ms_gateway::{DevS3Config, Gateway, GatewayConfig, User};
use ms_runtime::protocol::Json;
use ms_runtime::s3::{GetOptions, ListEntry, Progress, PutOptions, S3};
use ms_runtime::{Config, Context, Event, Handler, HandlerError, Request, Service};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const USER: &str = "demo";
const PASSWORD: &str = "demo";
const BUCKET: &str = "demo";
const ACCESS_KEY: &str = "demo-access";
const SECRET_KEY: &str = "demo-secret";
/// Payloads over this many bytes travel as claim checks (the default is
/// 1 MiB; the demo lowers it so a modest note shows the mechanism).
const CLAIM_CHECK_THRESHOLD: u64 = 64 * 1024;
const DATASET_BYTES: usize = 16 * 1024 * 1024;

/// `notes`: summarises notes (asking `tagger` for tags) and inspects
/// objects in the store.
struct Notes;

#[derive(Deserialize)]
struct Note {
    title: String,
    text: String,
}

#[derive(Serialize, Deserialize)]
struct Summary {
    title: String,
    words: usize,
    tags: Vec<String>,
}

#[derive(Deserialize)]
struct Inspect {
    key: String,
}

#[derive(Serialize, Deserialize)]
struct Inspection {
    key: String,
    bytes: usize,
    lines: usize,
    sha256: String,
}

impl Handler for Notes {
    fn name(&self) -> &str {
        "notes"
    }

    fn routes(&self) -> Vec<String> {
        vec!["summarize".to_owned(), "inspect".to_owned()]
    }

    async fn handle(&self, ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        match request.route.as_str() {
            "summarize" => ms_runtime::reply(&summarize(ctx, request.parse()?).await?),
            "inspect" => ms_runtime::reply(&inspect(ctx, request.parse()?).await?),
            other => Err(HandlerError::bad_request(format!("no route `{other}`"))),
        }
    }
}

async fn summarize(ctx: &Context, note: Note) -> Result<Summary, HandlerError> {
    slog::info!(ctx.log(), "summarising"; "title" => &note.title, "chars" => note.text.len());
    // over the claim-check threshold, the runtime puts the text in S3 and
    // sends a reference; `tagger` receives the text all the same
    let tags: Vec<String> = ctx.request("tagger", "tag", &note.text).await?;
    let summary = Summary {
        title: note.title,
        words: note.text.split_whitespace().count(),
        tags,
    };
    ctx.publish("notes.summarized", &summary).await?;
    Ok(summary)
}

async fn inspect(ctx: &Context, inspect: Inspect) -> Result<Inspection, HandlerError> {
    let s3 = ctx
        .s3()
        .ok_or_else(|| HandlerError::internal("no object store configured"))?;
    let started = Instant::now();
    let data = s3.get_bytes(s3.bucket()?, &inspect.key).await?;
    slog::info!(ctx.log(), "object read"; "key" => &inspect.key, "bytes" => data.len(),
        "ms" => started.elapsed().as_millis() as u64);
    Ok(Inspection {
        lines: data.iter().filter(|&&b| b == b'\n').count(),
        bytes: data.len(),
        sha256: hex(&Sha256::digest(&data)),
        key: inspect.key,
    })
}

/// `tagger`: tags a text with its longest words; counts summaries it hears of.
struct Tagger;

impl Handler for Tagger {
    fn name(&self) -> &str {
        "tagger"
    }

    fn routes(&self) -> Vec<String> {
        vec!["tag".to_owned()]
    }

    fn topics(&self) -> Vec<String> {
        vec!["notes.summarized".to_owned()]
    }

    async fn handle(&self, ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        let text: String = request.parse()?;
        let mut words: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 3)
            .map(str::to_lowercase)
            .collect();
        words.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        words.dedup();
        words.truncate(3);
        slog::debug!(ctx.log(), "tagged"; "tags" => words.len(), "chars" => text.len());
        ms_runtime::reply(&words)
    }

    async fn on_event(&self, ctx: &Context, event: Event) -> Result<(), HandlerError> {
        let summary: Summary = event.parse()?;
        slog::info!(ctx.log(), "heard of a summary"; "title" => summary.title, "tags" => summary.tags.join(","));
        Ok(())
    }
}

fn main() -> ExitCode {
    let once = std::env::args().skip(1).any(|a| a == "--once");
    let system = actix_rt::System::new();
    match system.block_on(demo(once)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("example-quickstart: {e}");
            ExitCode::FAILURE
        }
    }
}

type Failure = Box<dyn std::error::Error>;

async fn demo(once: bool) -> Result<(), Failure> {
    let store = tempfile::Builder::new()
        .prefix("ms-quickstart-")
        .tempdir()?;
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut gateway_config = GatewayConfig::new(loopback);
    gateway_config
        .users
        .add_user(User::parse(&format!("{USER}:{PASSWORD}"))?);
    gateway_config.dev_s3 = Some(DevS3Config {
        bind: loopback,
        data_dir: store.path().to_path_buf(),
        access_key: ACCESS_KEY.to_owned(),
        secret_key: ms_gateway::Secret::new(SECRET_KEY),
    });
    let gateway = Gateway::start(gateway_config)?;
    let s3_endpoint = format!(
        "http://{}",
        gateway
            .s3_addr()
            .ok_or("the embedded S3 store did not start")?
    );
    println!(
        "1. embedded gateway listening on {} (user {USER}:{PASSWORD}), S3 store on {s3_endpoint}",
        gateway.addr()
    );

    let config = |name: &str| {
        Config::builder()
            .gateway_url(gateway.ws_url())
            .credentials(USER, PASSWORD)
            .service_name(name)
            .s3_endpoint(s3_endpoint.as_str())
            .s3_keys(ACCESS_KEY, SECRET_KEY)
            .s3_bucket(BUCKET)
            .claim_check_threshold(CLAIM_CHECK_THRESHOLD)
            .log_level(std::env::var("MS_LOG_LEVEL").unwrap_or_else(|_| "info".to_owned()))
            .build()
    };
    let tagger = Service::start(config("tagger")?, Tagger).await?;
    let notes = Service::start(config("notes")?, Notes).await?;
    for (name, service) in [("tagger", &tagger), ("notes", &notes)] {
        if !service
            .gateway()
            .wait_connected(Duration::from_secs(10))
            .await
        {
            return Err(format!("service {name} did not connect").into());
        }
    }
    println!("2. services `notes` and `tagger` connected (logs on stderr)");

    let http = gateway.http_url();
    let notes_in = [
        r#"{"title":"standup","text":"Deployment pipeline finished; benchmarks pending review"}"#,
        r#"{"title":"ideas","text":"Claim checks carry large payloads through object storage"}"#,
        r#"{"title":"broken","words":3}"#,
    ];
    println!("3. calling notes/summarize through the HTTP edge (notes asks tagger for tags):");
    for body in notes_in {
        let started = Instant::now();
        let (status, answer) = invoke(&http, "notes", "summarize", body).await;
        println!(
            "   POST {body}\n     -> {status} {answer} ({:.1} ms)",
            started.elapsed().as_secs_f64() * 1e3
        );
    }

    let s3 = notes
        .gateway()
        .s3()
        .ok_or("the notes service has no S3 store")?
        .clone();
    claim_check_tour(&http, &s3).await?;
    storage_tour(&http, &s3).await?;

    println!(
        "6. try it yourself:\n   curl -u {USER}:{PASSWORD} -H 'content-type: application/json' \\\n     -d '{{\"title\":\"mine\",\"text\":\"hello structured microservices\"}}' {http}/v1/invoke/notes/summarize\n   curl -u {USER}:{PASSWORD} -d '{{\"key\":\"datasets/demo.csv\"}}' {http}/v1/invoke/notes/inspect"
    );

    if !once {
        println!("7. serving until Ctrl-C ...");
        ms_runtime::shutdown_signal().await;
    }
    notes.shutdown().await;
    tagger.shutdown().await;
    gateway.stop().await;
    println!("done: services and gateway stopped cleanly");
    Ok(())
}

/// A note too big to travel inline: `notes` sends its text to `tagger` as a
/// claim check (the object is in S3, the frame carries a reference).
async fn claim_check_tour(http: &str, s3: &S3) -> Result<(), Failure> {
    let sentence =
        "Streaming inference results through object storage keeps websocket frames small. ";
    let text = sentence.repeat(200 * 1024 / sentence.len());
    let body = serde_json::to_string(&serde_json::json!({ "title": "big", "text": text }))?;
    let before = count_objects(s3, "claims/").await?;
    let (status, answer) = invoke(http, "notes", "summarize", &body).await;
    let after = count_objects(s3, "claims/").await?;
    println!(
        "4. a {} KiB note (claim-check threshold {} KiB): notes sent its text to tagger by claim check\n     -> {status} {answer}\n     claim-check objects in s3://{BUCKET}/claims/: {before} before, {after} after",
        body.len() / 1024,
        CLAIM_CHECK_THRESHOLD / 1024,
    );
    Ok(())
}

/// A dataset uploaded with a progress bar, inspected by the service, and
/// downloaded back with a progress bar; the checksums must agree.
async fn storage_tour(http: &str, s3: &S3) -> Result<(), Failure> {
    let dir = tempfile::tempdir()?;
    let (upload, download) = (dir.path().join("demo.csv"), dir.path().join("back.csv"));
    let mut csv = String::with_capacity(DATASET_BYTES + 64);
    let mut row = 0u64;
    while csv.len() < DATASET_BYTES {
        csv.push_str(&format!(
            "{row},sensor-{},{:.3}\n",
            row % 17,
            (row as f64).sin()
        ));
        row += 1;
    }
    std::fs::write(&upload, &csv)?;
    let sent = hex(&Sha256::digest(csv.as_bytes()));
    let key = "datasets/demo.csv";

    println!(
        "5. S3: uploading a {} MiB dataset (multipart, progress on stderr)",
        csv.len() >> 20
    );
    let (bar, progress) = progress_bar("upload");
    let started = Instant::now();
    let uploaded = s3
        .put_file(
            BUCKET,
            key,
            &upload,
            PutOptions::new()
                .content_type("text/csv")
                .progress(progress),
        )
        .await?;
    bar.finish_and_clear();
    println!(
        "     uploaded s3://{BUCKET}/{key}: {} bytes in {:.2} s",
        uploaded.size,
        started.elapsed().as_secs_f64()
    );

    let (status, answer) = invoke(http, "notes", "inspect", &format!(r#"{{"key":"{key}"}}"#)).await;
    println!("     notes/inspect -> {status} {answer}");

    let (bar, progress) = progress_bar("download");
    let started = Instant::now();
    let bytes = s3
        .get_file(BUCKET, key, &download, GetOptions::new().progress(progress))
        .await?;
    bar.finish_and_clear();
    let back = hex(&Sha256::digest(std::fs::read(&download)?));
    println!(
        "     downloaded {bytes} bytes in {:.2} s; sha256 {} the upload's",
        started.elapsed().as_secs_f64(),
        if back == sent {
            "matches"
        } else {
            "DIFFERS FROM"
        }
    );
    if back != sent || !answer.contains(&sent) {
        return Err("the dataset did not survive the round trip".into());
    }
    Ok(())
}

/// A bar on stderr (hidden when stderr is not a terminal) and the callback
/// that feeds it.
fn progress_bar(what: &'static str) -> (ProgressBar, Progress) {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "     {prefix:>8} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(what);
    let feed = bar.clone();
    let progress = Progress::new(move |p| {
        if let Some(total) = p.total {
            feed.set_length(total);
        }
        feed.set_position(p.done);
    });
    (bar, progress)
}

async fn count_objects(s3: &S3, prefix: &str) -> Result<usize, Failure> {
    let mut listing = s3.list(BUCKET, prefix, None);
    let mut count = 0;
    while let Some(entry) = listing.next().await {
        if let ListEntry::Object(_) = entry? {
            count += 1;
        }
    }
    Ok(count)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn invoke(http: &str, service: &str, route: &str, body: &str) -> (u16, String) {
    let request = awc::Client::new()
        .post(format!("{http}/v1/invoke/{service}/{route}"))
        .basic_auth(USER, PASSWORD)
        .insert_header(("content-type", "application/json"))
        .timeout(Duration::from_secs(30));
    match request.send_body(body.to_owned()).await {
        Ok(mut response) => {
            let text = match response.body().limit(4 * 1024 * 1024).await {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(e) => e.to_string(),
            };
            (response.status().as_u16(), text)
        }
        Err(e) => (0, e.to_string()),
    }
}
