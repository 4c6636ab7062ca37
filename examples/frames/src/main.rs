//! Checks protocol frames against the v1 rules, the way the gateway and the
//! runtime read them: `example-frames '<json>' ...`, or one frame per line on
//! standard input (`-`). Without arguments it walks through a few samples.
//!
//! Exit status: 0 when every frame given is valid, 1 when any is refused.

use std::io::{self, BufRead};
use std::process::ExitCode;

use clap::Parser;
use ms_runtime::protocol::{Body, Envelope, decode, encode};

/// Checks protocol frames against the v1 rules, as the gateway and the
/// runtime read them. Exit status: 0 when every frame given is valid, 1 when
/// any is refused, 2 for a usage error.
#[derive(Parser)]
#[command(name = "example-frames", version)]
struct Cli {
    /// Frames (JSON text) to check; `-` reads one frame per line from
    /// standard input; none walks through a few samples.
    frames: Vec<String>,
}

const SAMPLES: &[&str] = &[
    r#"{"v":1,"kind":"hello","id":"h1","service":"ocr","instance":"ocr-1","routes":["extract"],"topics":[],"max_in_flight":8,"version":"1.2.0"}"#,
    r#"{"v":1,"kind":"request","id":"r1","to":"ocr","route":"extract","headers":{"trace_id":"t-1","attempt":"1"},"payload":{"page":3}}"#,
    r#"{"v":1,"kind":"reply","id":"p1","correlation_id":"r1","payload":{"text":"hello"}}"#,
    r#"{"v":1,"kind":"ack","id":"a1","ids":["p1"]}"#,
    r#"{"v":2,"kind":"ack","id":"a2","ids":[]}"#,
    r#"{"v":1,"kind":"request","id":"r2","to":"ocr","payload":{}}"#,
    r#"{"v":1,"kind":"subscribe","id":"s1"}"#,
    r#"not json"#,
];

fn main() -> ExitCode {
    let args = Cli::parse().frames;
    let is_tour = args.is_empty();
    let frames: Vec<String> = match args.as_slice() {
        [] => {
            println!(
                "No frames given: checking {} samples. Pass frames as arguments, or - to read lines from stdin.\n",
                SAMPLES.len()
            );
            SAMPLES.iter().map(|s| (*s).to_owned()).collect()
        }
        [dash] if dash == "-" => io::stdin()
            .lock()
            .lines()
            .map_while(Result::ok)
            .filter(|l| !l.trim().is_empty())
            .collect(),
        _ => args,
    };
    let mut refused = 0;
    for frame in &frames {
        println!("frame   {frame}");
        match decode(frame) {
            Ok(envelope) => println!("valid   {}\n", summary(&envelope)),
            Err(err) => {
                refused += 1;
                println!("refused {err}");
                match encode(&err.to_envelope()) {
                    Ok(answer) => println!("answer  {answer}\n"),
                    Err(e) => println!("answer  could not be encoded: {e}\n"),
                }
            }
        }
    }
    println!("{} valid, {} refused", frames.len() - refused, refused);
    // the tour refuses some samples on purpose
    if refused == 0 || is_tour {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn summary(envelope: &Envelope) -> String {
    let id = &envelope.id;
    match &envelope.body {
        Body::Hello(h) => format!(
            "hello {id}: {}/{} serves {:?}, topics {:?}, max_in_flight {}",
            h.service, h.instance, h.routes, h.topics, h.max_in_flight
        ),
        Body::Welcome(w) => format!(
            "welcome {id}: session {}, heartbeat {} ms",
            w.session, w.heartbeat_ms
        ),
        Body::Request(r) => format!(
            "request {id} -> {}/{} (attempt {})",
            r.to,
            r.route,
            envelope.headers.attempt()
        ),
        Body::Reply(r) => format!("reply {id} settles {}", r.correlation_id),
        Body::Error(e) => format!("error {id}: {}", e.error),
        Body::Event(e) => format!("event {id} on {}", e.topic),
        Body::Ack(a) => format!("ack {id} of {} id(s)", a.ids.len()),
    }
}
