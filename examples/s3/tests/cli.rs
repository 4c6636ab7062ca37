//! The command line: conventional help and exit codes.

use std::process::Command;

fn s3(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_example-s3"))
        .args(args)
        .env_remove("MS_S3_ENDPOINT")
        .output()
        .expect("example-s3 runs")
}

#[test]
fn help_exits_0_on_stdout_and_usage_errors_exit_2_on_stderr() {
    let help = s3(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("presign"));
    let bogus = s3(&["frobnicate"]);
    assert_eq!(bogus.status.code(), Some(2));
    assert!(!bogus.stderr.is_empty());
    let missing = s3(&["put", "bucket"]);
    assert_eq!(missing.status.code(), Some(2));
}
