//! The README's demo (`cargo run -p example-quickstart -- --once`) starts
//! its embedded gateway, S3 store and services, answers its sample requests,
//! moves a big note by claim check and a dataset through S3, and stops
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
        // the big note's text went to tagger through S3, and came back tagged
        r#"-> 200 {"title":"big","words":25280,"tags":["inference","streaming","websocket"]}"#,
        "claim-check objects in s3://demo/claims/: 0 before, 1 after",
        // a 16 MiB dataset up, inspected by the service, down again
        "uploaded s3://demo/datasets/demo.csv: 16777219 bytes",
        r#"notes/inspect -> 200 {"key":"datasets/demo.csv","bytes":16777219,"lines":737103,"sha256":""#,
        "downloaded 16777219 bytes",
        "sha256 matches the upload's",
        "curl -u demo:demo",
        "done: services and gateway stopped cleanly",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected:?} missing from the demo's output:\n{stdout}"
        );
    }
}
