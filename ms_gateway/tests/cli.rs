//! The binary takes its users from the environment, prints `listening on
//! ADDR` with the real port, serves, and exits cleanly on SIGTERM.

mod common;

use std::process::Stdio;

use common::*;
use tokio::io::{AsyncBufReadExt as _, BufReader};
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
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = within("the listening line", lines.next_line())
        .await
        .unwrap()
        .unwrap();
    let addr: std::net::SocketAddr = first
        .strip_prefix("listening on ")
        .unwrap()
        .parse()
        .unwrap();
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
    let pid = child.id().unwrap().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = within("the process to exit after SIGTERM", child.wait())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
}
