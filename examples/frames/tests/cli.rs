//! The command line: conventional help and exit codes.

use std::process::Command;

fn frames(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_example-frames"))
        .args(args)
        .output()
        .expect("example-frames runs")
}

#[test]
fn help_is_help_not_a_frame() {
    let out = frames(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"));
}

#[test]
fn a_refused_frame_exits_1_and_a_valid_one_0() {
    assert_eq!(frames(&[r#"{"v":1}"#]).status.code(), Some(1));
    let ack = r#"{"v":1,"kind":"ack","id":"a1","ids":["p1"]}"#;
    assert_eq!(frames(&[ack]).status.code(), Some(0));
    assert_eq!(frames(&["--bogus"]).status.code(), Some(2));
}
