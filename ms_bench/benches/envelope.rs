//! Micro-benchmarks: the envelope decoder and encoder, and the dispatch path
//! without sockets (frame in -> handler -> frame out).

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_main};
use example_echo::Echo;
use ms_runtime::__bench::DispatchBench;
use ms_runtime::protocol::{Body, ByteString, Envelope, Payload, decode, encode};

fn request(size: usize) -> String {
    let payload = format!("\"{}\"", "x".repeat(size.saturating_sub(2)));
    format!(
        r#"{{"v":1,"kind":"request","id":"q12345","to":"echo","route":"echo","from":"http","headers":{{"trace_id":"t-1","attempt":"1","deadline_ms":"1795824000000"}},"payload":{payload}}}"#
    )
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("envelope");
    for size in [100, 64 * 1024] {
        let text = request(size);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("decode", size), &text, |b, text| {
            b.iter(|| decode(black_box(text)))
        });
        let envelope = decode(&text).expect("valid request");
        group.bench_with_input(
            BenchmarkId::new("encode", size),
            &envelope,
            |b, envelope| b.iter(|| encode(black_box(envelope))),
        );
        // what a service does per request apart from I/O: decode, echo, encode the reply
        group.bench_with_input(
            BenchmarkId::new("request_to_reply", size),
            &text,
            |b, text| {
                b.iter(|| {
                    let envelope = decode(black_box(text)).expect("valid request");
                    let Body::Request(request) = envelope.body else {
                        unreachable!()
                    };
                    let Payload::Inline(json) = request.payload else {
                        unreachable!()
                    };
                    encode(&Envelope::reply_to(&envelope.id, Payload::Inline(json)))
                })
            },
        );
    }
    group.finish();
}

/// The real dispatch path without sockets: the request frame is decoded,
/// a fresh handler actor runs `example-echo`'s route, the outcome is settled
/// and the reply frame encoded. With two handler threads (the pool) and with
/// none (handler actors on the calling thread, `MS_HANDLER_THREADS=0`).
fn dispatch(c: &mut Criterion) {
    let mut group = c.benchmark_group("dispatch");
    for size in [100, 64 * 1024] {
        let frame = ByteString::from(request(size));
        group.throughput(Throughput::Bytes(frame.len() as u64));
        for (label, threads) in [("pool", 2), ("inline", 0)] {
            let system = actix_rt::System::new();
            let mut harness = system.block_on(async { DispatchBench::new(Echo, threads) });
            group.bench_with_input(BenchmarkId::new(label, size), &frame, |b, frame| {
                b.iter_custom(|iters| {
                    system.block_on(async {
                        let start = Instant::now();
                        for _ in 0..iters {
                            let reply = harness.round_trip(frame).await;
                            black_box(reply.map(|r| r.len()).unwrap_or_default());
                        }
                        start.elapsed()
                    })
                })
            });
            drop(harness);
        }
    }
    group.finish();
}

// criterion's macro generates an undocumented public function
#[allow(missing_docs)]
mod group {
    criterion::criterion_group! {
        name = benches;
        config = criterion::Criterion::default().measurement_time(super::Duration::from_secs(3));
        targets = super::codec, super::dispatch
    }
}
use group::benches;

criterion_main!(benches);
