//! Micro-benchmarks: the envelope decoder and encoder, and the dispatch path
//! without sockets (frame in -> handler -> frame out).

use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_main};
use ms_runtime::protocol::{Body, Envelope, Payload, decode, encode};

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

// criterion's macro generates an undocumented public function
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::codec);
}
use group::benches;

criterion_main!(benches);
