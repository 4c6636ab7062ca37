//! The binary takes its users from the environment, prints `listening on
//! ADDR` with the real port, serves, and exits cleanly on SIGTERM; `--dev`
//! adds no `dev:dev` beside configured users; `hash-password` prints an
//! argon2id hash the gateway accepts.

mod common;

use std::process::Stdio;

use common::*;
use ms_gateway::{User, Users};
use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_its_address_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ms-gateway"))
        .args(["--bind", "127.0.0.1:0"])
        .env("MS_GATEWAY_USERS", "svc:pw,other:pw2")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (addr, _stdout) = listening(&mut child).await;
    assert_ne!(addr.port(), 0);
    assert_eq!(get(addr, "/healthz").await.status, 200);
    let other = http(
        addr,
        "GET",
        "/healthz",
        &[("Authorization", &basic("other:pw2"))],
        "",
    )
    .await;
    assert_eq!(other.status, 200);
    sigterm(&child).await;
    let status = within("the process to exit after SIGTERM", child.wait())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_mode_adds_no_dev_user_beside_configured_users() {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ms-gateway"))
        .args(["--dev", "--user", "svc:pw", "--bind", "127.0.0.1:0"])
        .args(["--s3-bind", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (addr, mut lines) = listening(&mut child).await;
    let env_line = within("the dev environment line", lines.next_line())
        .await
        .unwrap()
        .unwrap();
    assert!(env_line.contains("MS_S3_ENDPOINT="), "{env_line}");
    assert!(!env_line.contains("MS_USERNAME"), "{env_line}");
    let as_user = |pair: &'static str| async move {
        let auth = basic(pair);
        http(addr, "GET", "/metrics", &[("Authorization", &auth)], "")
            .await
            .status
    };
    assert_eq!(as_user("svc:pw").await, 200);
    assert_eq!(as_user("dev:dev").await, 401);
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hash_password_prints_an_argon2id_hash_the_gateway_accepts() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ms-gateway"))
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"s3cret pw\n").await.unwrap();
    drop(stdin);
    let output = within("hash-password to finish", child.wait_with_output())
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let hash = String::from_utf8(output.stdout).unwrap();
    let hash = hash.trim_end();
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
    let mut users = Users::new();
    users.add_user(User::with_password_hash("u", hash).unwrap());
    assert!(users.authenticate(Some(&basic("u:s3cret pw"))).is_some());
    assert!(users.authenticate(Some(&basic("u:s3cret pw\n"))).is_none());
}
