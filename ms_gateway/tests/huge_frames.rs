//! Threat: one connection grows the gateway by gigabytes with a frame header
//! that declares 2^62 bytes, or with fragments that add up past the limit.
//! The limit holds while reading: the gateway closes with 1009 at the
//! header, before it buffers the data (docs/protocol.md section 1, revision 2).
//! Text that is not UTF-8 closes with 1007.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::*;
use tokio::io::AsyncWriteExt as _;

const LIMIT: u64 = 64 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_declared_frame_is_refused_at_its_header() {
    let gateway = start(|c| c.max_frame_bytes = LIMIT);
    let raw = RawSocket::open(&gateway).await;
    let (mut read, mut write) = raw.tcp.into_split();
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    // Declare 2^62 bytes, then stream data as fast as the gateway takes it
    // (up to 1 GiB; without the guard the gateway would read all of it).
    let writer = tokio::spawn(async move {
        let mut h = vec![0x81, 0x80 | 127];
        h.extend_from_slice(&(1u64 << 62).to_be_bytes());
        h.extend_from_slice(&[0, 0, 0, 0]);
        write.write_all(&h).await.ok();
        let chunk = vec![b'x'; 1 << 20];
        while counter.load(Ordering::Relaxed) < 1 << 30 && write.write_all(&chunk).await.is_ok() {
            counter.fetch_add(1 << 20, Ordering::Relaxed);
        }
    });
    let code = within("the close 1009", read_close_code(&mut read)).await;
    assert_eq!(code, Some(1009));
    // It did not wait for the data: far less than the 1 GiB was taken.
    let taken = sent.load(Ordering::Relaxed);
    assert!(
        taken < 256 << 20,
        "{taken} bytes were sent before the close"
    );
    writer.abort();
    assert_eq!(
        metric(gateway.addr(), "ms_gateway_oversized_frames_total").await,
        1
    );
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fragments_adding_up_past_the_limit_are_refused() {
    let gateway = start(|c| c.max_frame_bytes = LIMIT);
    let mut raw = RawSocket::open(&gateway).await;
    let part = vec![b'x'; 40 * 1024];
    // text, not final; then a continuation that takes the message past 64 KiB
    raw.header(0x01, part.len() as u64).await;
    raw.tcp.write_all(&part).await.unwrap();
    raw.header(0x80, part.len() as u64).await;
    raw.tcp.write_all(&part).await.ok();
    assert_eq!(within("the close 1009", raw.close_code()).await, Some(1009));
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_that_is_not_utf8_closes_with_1007() {
    let gateway = start(|_| {});
    let mut raw = RawSocket::open(&gateway).await;
    raw.text(&[b'{', 0xFF, 0xFE, b'}']).await;
    assert_eq!(within("the close 1007", raw.close_code()).await, Some(1007));
    gateway.stop().await;
}
