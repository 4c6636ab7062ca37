//! Every small operation of the S3 handle against a real, signature-checking
//! S3 server (s3s-fs in-process): put, get, head, list, delete, copy,
//! presign, buckets, content type and metadata.

mod s3_support;

use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};
use ms_runtime::s3::{GetOptions, ListEntry, PutOptions, S3Error};
use s3_support::*;

#[actix_rt::test]
async fn put_get_head_exists_and_delete_round_trip() {
    let server = Server::start();
    let s3 = server.handle();
    assert!(
        within("ensure_bucket", s3.ensure_bucket("test-bucket"))
            .await
            .unwrap()
    );
    assert!(
        !within("ensure_bucket again", s3.ensure_bucket("test-bucket"))
            .await
            .unwrap()
    );
    let bucket = s3.bucket().unwrap().to_owned();

    let options = PutOptions::new()
        .content_type("text/plain")
        .metadata("origin", "scanner-3");
    let put = within(
        "put_bytes",
        s3.put_bytes(
            &bucket,
            "a/hello.txt",
            Bytes::from_static(b"hello"),
            options,
        ),
    )
    .await
    .unwrap();
    assert_eq!((put.size, put.parts), (5, 0));

    let got = within("get_bytes", s3.get_bytes(&bucket, "a/hello.txt"))
        .await
        .unwrap();
    assert_eq!(&got[..], b"hello");

    let info = within("head", s3.head(&bucket, "a/hello.txt"))
        .await
        .unwrap();
    assert_eq!(info.size, 5);
    assert_eq!(info.content_type.as_deref(), Some("text/plain"));
    assert_eq!(
        info.metadata.get("origin").map(String::as_str),
        Some("scanner-3")
    );
    assert!(info.last_modified.is_some());

    assert!(
        within("exists", s3.exists(&bucket, "a/hello.txt"))
            .await
            .unwrap()
    );
    within("delete", s3.delete(&bucket, "a/hello.txt"))
        .await
        .unwrap();
    assert!(
        !within("exists after delete", s3.exists(&bucket, "a/hello.txt"))
            .await
            .unwrap()
    );

    let missing = within("get of a missing key", s3.get_bytes(&bucket, "nope"))
        .await
        .unwrap_err();
    assert!(matches!(missing, S3Error::NotFound { .. }), "{missing:?}");
    assert_eq!(missing.to_string(), "object test-bucket/nope not found");
    let head_missing = within("head of a missing key", s3.head(&bucket, "nope"))
        .await
        .unwrap_err();
    assert!(head_missing.is_not_found(), "{head_missing:?}");
    let no_bucket = within(
        "get from a missing bucket",
        s3.get_bytes("no-such-bucket", "k"),
    )
    .await
    .unwrap_err();
    // AWS answers NoSuchBucket; s3s-fs answers NoSuchKey for a GET.
    assert!(no_bucket.is_not_found(), "{no_bucket:?}");
}

#[actix_rt::test]
async fn files_streams_and_copies() {
    let server = Server::start();
    let s3 = server.handle();
    s3.create_bucket("files").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("in.bin");
    let data = pattern(300_000);
    std::fs::write(&source, &data).unwrap();

    within(
        "put_file",
        s3.put_file("files", "in.bin", &source, PutOptions::new()),
    )
    .await
    .unwrap();
    let target = dir.path().join("out.bin");
    let size = within(
        "get_file",
        s3.get_file("files", "in.bin", &target, GetOptions::new()),
    )
    .await
    .unwrap();
    assert_eq!(size, data.len() as u64);
    assert_eq!(std::fs::read(&target).unwrap(), data);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "temporary files left: {leftovers:?}");

    let chunks = stream::iter(
        data.chunks(7000)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    );
    within(
        "put_stream",
        s3.put_stream("files", "streamed.bin", chunks, PutOptions::new()),
    )
    .await
    .unwrap();
    let mut object = within("get_stream", s3.get_stream("files", "streamed.bin"))
        .await
        .unwrap();
    assert_eq!(object.size, data.len() as u64);
    let mut received = Vec::new();
    while let Some(chunk) = within("a chunk", object.next()).await {
        received.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(received, data);

    within(
        "copy",
        s3.copy("files", "streamed.bin", "files", "copy of/streamed+1.bin"),
    )
    .await
    .unwrap();
    let copied = within(
        "get of the copy",
        s3.get_bytes("files", "copy of/streamed+1.bin"),
    )
    .await
    .unwrap();
    assert_eq!(&copied[..], &data[..]);
    let missing = within(
        "copy of a missing key",
        s3.copy("files", "nope", "files", "x"),
    )
    .await
    .unwrap_err();
    assert!(missing.is_not_found(), "{missing:?}");

    let empty = stream::iter(Vec::<Result<Bytes, std::io::Error>>::new());
    within(
        "put_stream of nothing",
        s3.put_stream("files", "empty", empty, PutOptions::new()),
    )
    .await
    .unwrap();
    let size = within(
        "get_file of an empty object",
        s3.get_file(
            "files",
            "empty",
            dir.path().join("empty"),
            GetOptions::new(),
        ),
    )
    .await
    .unwrap();
    assert_eq!(size, 0);
}

#[actix_rt::test]
async fn list_pages_prefixes_and_delete_many() {
    let server = Server::start();
    let s3 = server.handle();
    s3.create_bucket("listing").await.unwrap();
    // More than one page (1000 keys) under "many/".
    let keys: Vec<String> = (0..1005).map(|i| format!("many/{i:05}")).collect();
    let puts = keys
        .iter()
        .map(|k| s3.put_bytes("listing", k, Bytes::from_static(b"x"), PutOptions::new()));
    within("1005 puts", futures_util::future::try_join_all(puts))
        .await
        .unwrap();
    for key in ["top.txt", "dir/a.txt", "dir/b.txt", "dir/sub/c.txt"] {
        s3.put_bytes("listing", key, Bytes::from_static(b"y"), PutOptions::new())
            .await
            .unwrap();
    }

    let listed: Vec<ListEntry> = within(
        "list many/",
        s3.list("listing", "many/", None).try_collect(),
    )
    .await
    .unwrap();
    let listed_keys: Vec<String> = listed
        .into_iter()
        .map(|e| match e {
            ListEntry::Object(o) => o.key,
            ListEntry::Prefix(p) => panic!("no prefixes without a delimiter, got {p}"),
        })
        .collect();
    assert_eq!(listed_keys, keys);

    let mut top: Vec<ListEntry> = within(
        "list with /",
        s3.list("listing", "", Some("/")).try_collect(),
    )
    .await
    .unwrap();
    top.sort_by_key(|e| format!("{e:?}"));
    let names: Vec<String> = top
        .iter()
        .map(|e| match e {
            ListEntry::Object(o) => o.key.clone(),
            ListEntry::Prefix(p) => p.clone(),
        })
        .collect();
    assert_eq!(names, ["top.txt", "dir/", "many/"]);
    let dir: Vec<ListEntry> = s3
        .list("listing", "dir/", Some("/"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(dir.len(), 3, "{dir:?}");

    let deleted = within("delete_many", s3.delete_many("listing", keys.clone()))
        .await
        .unwrap();
    assert_eq!(deleted, 1005);
    let rest: Vec<ListEntry> = s3
        .list("listing", "many/", None)
        .try_collect()
        .await
        .unwrap();
    assert!(rest.is_empty(), "{} keys left", rest.len());

    let missing: Result<Vec<ListEntry>, _> =
        s3.list("no-such-bucket", "", None).try_collect().await;
    assert!(
        matches!(missing, Err(S3Error::NoSuchBucket { .. })),
        "{missing:?}"
    );
}

#[actix_rt::test]
async fn presigned_urls_work_with_a_plain_http_client() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = Server::start();
    let s3 = server.handle();
    s3.create_bucket("shared").await.unwrap();
    s3.put_bytes(
        "shared",
        "doc.txt",
        Bytes::from_static(b"for your eyes"),
        PutOptions::new(),
    )
    .await
    .unwrap();
    let http = awc::Client::new();

    let url = within(
        "presign_get",
        s3.presign_get("shared", "doc.txt", Duration::from_secs(300)),
    )
    .await
    .unwrap();
    assert!(url.as_str().starts_with(&server.endpoint()), "{url}");
    assert!(!url.as_str().contains(SECRET_KEY));
    let mut response = within("GET on the presigned URL", http.get(url.as_str()).send())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        &within("its body", response.body()).await.unwrap()[..],
        b"for your eyes"
    );

    let url = within(
        "presign_put",
        s3.presign_put("shared", "upload.txt", Duration::from_secs(300)),
    )
    .await
    .unwrap();
    let response = within(
        "PUT on the presigned URL",
        http.put(url.as_str()).send_body("uploaded"),
    )
    .await
    .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(
        &s3.get_bytes("shared", "upload.txt").await.unwrap()[..],
        b"uploaded"
    );

    let tampered = url.as_str().replace("upload.txt", "other.txt");
    let response = within("PUT on a tampered URL", http.put(tampered).send_body("x"))
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    let too_long = s3
        .presign_get("shared", "doc.txt", Duration::from_secs(8 * 24 * 3600))
        .await
        .unwrap_err();
    assert!(
        matches!(too_long, S3Error::InvalidConfig { .. }),
        "{too_long:?}"
    );

    let public = server.handle_with(ms_runtime::s3::S3Options {
        public_endpoint: Some("https://files.example.com".parse().unwrap()),
        ..Default::default()
    });
    let url = public
        .presign_get("shared", "doc.txt", Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        url.as_str()
            .starts_with("https://files.example.com/shared/doc.txt?"),
        "{url}"
    );
}
