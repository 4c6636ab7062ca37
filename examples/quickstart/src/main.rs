//! The demo: starts an embedded gateway (no external gateway, no account
//! needed), runs two services that call each other through it, drives them
//! with a few requests through the gateway's HTTP edge, prints what happens
//! and the `curl` command to try it by hand, then serves until Ctrl-C
//! (or exits at once with `--once`).
//!
//! `cargo run -p example-quickstart` (add `-- --once` to stop after the tour).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ms_gateway::{Gateway, GatewayConfig, User};
use ms_runtime::protocol::Json;
use ms_runtime::{Config, Context, Event, Handler, HandlerError, Request, Service};
use serde::{Deserialize, Serialize};

const USER: &str = "demo";
const PASSWORD: &str = "demo";

/// `notes`: summarises a note, asking `tagger` for its tags.
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

impl Handler for Notes {
    fn name(&self) -> &str {
        "notes"
    }

    fn routes(&self) -> Vec<String> {
        vec!["summarize".to_owned()]
    }

    async fn handle(&self, ctx: &Context, request: Request) -> Result<Json, HandlerError> {
        let note: Note = request.parse()?;
        slog::info!(ctx.log(), "summarising"; "title" => &note.title, "chars" => note.text.len());
        let tags: Vec<String> = ctx.request("tagger", "tag", &note.text).await?;
        let summary = Summary {
            title: note.title,
            words: note.text.split_whitespace().count(),
            tags,
        };
        ctx.publish("notes.summarized", &summary).await?;
        HandlerError::reply(&summary)
    }
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
        slog::debug!(ctx.log(), "tagged"; "tags" => words.len());
        HandlerError::reply(&words)
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

async fn demo(once: bool) -> Result<(), Box<dyn std::error::Error>> {
    let mut gateway_config = GatewayConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)));
    gateway_config
        .users
        .add_user(User::parse(&format!("{USER}:{PASSWORD}"))?);
    let gateway = Gateway::start(gateway_config)?;
    println!(
        "1. embedded gateway listening on {} (user {USER}:{PASSWORD})",
        gateway.addr()
    );

    let config = |name: &str| {
        Config::builder()
            .gateway_url(gateway.ws_url())
            .credentials(USER, PASSWORD)
            .service_name(name)
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
    println!("3. calling notes/summarize through the HTTP edge:");
    for body in notes_in {
        let started = Instant::now();
        let (status, answer) = invoke(&http, "notes", "summarize", body).await;
        println!(
            "   POST {body}\n     -> {status} {answer} ({:.1} ms)",
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    println!(
        "4. try it yourself:\n   curl -u {USER}:{PASSWORD} -H 'content-type: application/json' \\\n     -d '{{\"title\":\"mine\",\"text\":\"hello structured microservices\"}}' {http}/v1/invoke/notes/summarize"
    );

    if !once {
        println!("5. serving until Ctrl-C ...");
        ms_runtime::shutdown_signal().await;
    }
    notes.shutdown().await;
    tagger.shutdown().await;
    gateway.stop().await;
    println!("done: services and gateway stopped cleanly");
    Ok(())
}

async fn invoke(http: &str, service: &str, route: &str, body: &str) -> (u16, String) {
    let request = awc::Client::new()
        .post(format!("{http}/v1/invoke/{service}/{route}"))
        .basic_auth(USER, PASSWORD)
        .insert_header(("content-type", "application/json"))
        .timeout(Duration::from_secs(10));
    match request.send_body(body.to_owned()).await {
        Ok(mut response) => {
            let text = match response.body().await {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(e) => e.to_string(),
            };
            (response.status().as_u16(), text)
        }
        Err(e) => (0, e.to_string()),
    }
}
