//! A file larger than 64 MiB goes file -> base64 -> file in fixed-size chunks,
//! byte for byte, without the process holding it in memory.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};

use ms_runtime::encoding::{decode_file, encode_file};

const SIZE: u64 = 64 * 1024 * 1024 + 12_345;

/// Deterministic pseudo-random bytes (an LCG), so the file needs no memory to check.
fn byte_stream(seed: u64) -> impl Iterator<Item = u8> {
    let mut state = seed;
    std::iter::repeat_with(move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u8
    })
}

/// Peak resident set size of this process, from /proc (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_65_mib_file_round_trips_through_base64_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("original.bin");
    let encoded = dir.path().join("original.b64");
    let decoded = dir.path().join("decoded.bin");

    let mut out = BufWriter::new(File::create(&original).unwrap());
    let mut bytes = byte_stream(7);
    let mut chunk = vec![0u8; 1 << 20];
    let mut left = SIZE;
    while left > 0 {
        let n = chunk.len().min(left as usize);
        chunk[..n]
            .iter_mut()
            .for_each(|b| *b = bytes.next().unwrap());
        out.write_all(&chunk[..n]).unwrap();
        left -= n as u64;
    }
    out.into_inner().unwrap().sync_all().unwrap();
    drop(chunk);

    let before = peak_rss_kib();
    assert_eq!(encode_file(&original, &encoded).unwrap(), SIZE);
    assert_eq!(
        std::fs::metadata(&encoded).unwrap().len(),
        SIZE.div_ceil(3) * 4
    );
    assert_eq!(decode_file(&encoded, &decoded).unwrap(), SIZE);
    let after = peak_rss_kib();

    let mut expected = byte_stream(7);
    let mut reader = BufReader::new(File::open(&decoded).unwrap());
    let mut buf = vec![0u8; 1 << 16];
    let mut checked = 0u64;
    loop {
        let n = reader.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        for (i, b) in buf[..n].iter().enumerate() {
            assert_eq!(
                *b,
                expected.next().unwrap(),
                "byte {} differs",
                checked + i as u64
            );
        }
        checked += n as u64;
    }
    assert_eq!(checked, SIZE);

    if let (Some(before), Some(after)) = (before, after) {
        // the file is 64 MiB; streaming must not come anywhere near holding it
        assert!(
            after.saturating_sub(before) < 16 * 1024,
            "peak RSS grew by {} KiB",
            after - before
        );
    }
}
