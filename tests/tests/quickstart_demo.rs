//! The README's demo (`cargo run -p example-quickstart -- --once`) starts
//! its embedded gateway and services, answers its sample requests, and stops
//! cleanly.

use std::process::Command;

use ms_tests::workspace_binary;

#[test]
fn the_demo_runs_its_tour_and_exits_cleanly() {
    let output = Command::new(workspace_binary("example-quickstart", "example-quickstart"))
        .arg("--once")
        .env("MS_LOG_LEVEL", "warning")
        .output()
        .expect("the demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "demo failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "1. embedded gateway listening on 127.0.0.1:",
        "2. services `notes` and `tagger` connected",
        r#"-> 200 {"title":"standup","words":6,"tags":["benchmarks","deployment","finished"]}"#,
        r#"-> 200 {"title":"ideas","words":8,"tags":["payloads","storage","through"]}"#,
        r#"-> 400 {"code":"bad_request""#,
        "curl -u demo:demo",
        "done: services and gateway stopped cleanly",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected:?} missing from the demo's output:\n{stdout}"
        );
    }
}
