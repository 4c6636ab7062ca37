//! A large object goes up in parts and comes down in parallel ranges, bytes
//! checked, progress reported, and the process's peak memory stays bounded
//! whatever the object's size. Prints throughput figures.
//!
//! Size: `MS_S3_TEST_MIB` (default 200).

mod s3_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ms_runtime::s3::{GetOptions, Progress, PutOptions, S3Options};
use s3_support::*;

#[actix_rt::test]
async fn a_large_object_round_trips_in_bounded_memory() {
    let mib: u64 = std::env::var("MS_S3_TEST_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let server = Server::start();
    let s3 = server.handle_with(S3Options {
        part_size: 8 * 1024 * 1024,
        parts_in_flight: 4,
        ..S3Options::default()
    });
    s3.create_bucket("large").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("big.bin");
    // Written in 1 MiB blocks so the test itself holds little memory; block
    // i starts with i, so a misplaced range shows.
    let slice = pattern(1024 * 1024);
    let block = |i: u64| {
        let mut block = slice.clone();
        block[..8].copy_from_slice(&i.to_le_bytes());
        block
    };
    {
        use std::io::Write;
        let mut file = std::io::BufWriter::new(std::fs::File::create(&source).unwrap());
        for i in 0..mib {
            file.write_all(&block(i)).unwrap();
        }
    }
    let size = mib * 1024 * 1024;
    let baseline = peak_rss();
    // 30 s, plus one second per 4 MiB (a debug build moves 30+ MiB/s).
    let limit = Duration::from_secs(30 + mib / 4);

    let reported = Arc::new(AtomicU64::new(0));
    let seen = reported.clone();
    let progress = Progress::new(move |p| {
        assert_eq!(p.total, Some(size));
        seen.fetch_max(p.done, Ordering::Relaxed);
    });
    let started = Instant::now();
    let put = within_for(
        limit,
        "put_file of the large object",
        s3.put_file(
            "large",
            "big.bin",
            &source,
            PutOptions::new().progress(progress),
        ),
    )
    .await
    .unwrap();
    let put_time = started.elapsed();
    assert_eq!(put.size, size);
    assert_eq!(put.parts as u64, size.div_ceil(8 * 1024 * 1024));
    assert_eq!(reported.load(Ordering::Relaxed), size);
    let leftovers: Vec<String> = std::fs::read_dir(server.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".upload_id-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "parts left on the server: {leftovers:?}"
    );

    let target = dir.path().join("back.bin");
    let reported = Arc::new(AtomicU64::new(0));
    let seen = reported.clone();
    let progress = Progress::new(move |p| {
        seen.fetch_max(p.done, Ordering::Relaxed);
    });
    let started = Instant::now();
    let got = within_for(
        limit,
        "get_file of the large object",
        s3.get_file(
            "large",
            "big.bin",
            &target,
            GetOptions::new().progress(progress),
        ),
    )
    .await
    .unwrap();
    let get_time = started.elapsed();
    assert_eq!(got, size);
    assert_eq!(reported.load(Ordering::Relaxed), size);

    {
        use std::io::Read;
        let mut file = std::fs::File::open(&target).unwrap();
        let mut buf = vec![0; 1024 * 1024];
        for i in 0..mib {
            file.read_exact(&mut buf).unwrap();
            assert!(buf == block(i), "downloaded MiB {i} differs");
        }
        assert_eq!(
            file.read(&mut buf).unwrap(),
            0,
            "downloaded file is too long"
        );
    }

    let peak = peak_rss();
    let growth = peak.saturating_sub(baseline);
    eprintln!(
        "s3_large: {mib} MiB; put {:.2} s ({:.1} MiB/s), get {:.2} s ({:.1} MiB/s); peak RSS {} MiB (+{} MiB over the {} MiB before the transfers; client and server in one process)",
        put_time.as_secs_f64(),
        mib as f64 / put_time.as_secs_f64(),
        get_time.as_secs_f64(),
        mib as f64 / get_time.as_secs_f64(),
        peak >> 20,
        growth >> 20,
        baseline >> 20,
    );
    // Client and server share the process; both stream. The bound is far
    // below the object's size: 4 parts in flight of 8 MiB each side, plus
    // buffers.
    assert!(
        growth < 160 * 1024 * 1024,
        "peak memory grew by {} MiB",
        growth >> 20
    );
}
