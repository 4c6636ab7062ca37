//! Dev mode serves an S3-compatible store that a real aws-sdk-s3 client can
//! create a bucket in, put an object to and get it back from.

mod common;

use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use common::*;
use ms_gateway::{DevS3Config, Secret};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dev_store_answers_put_and_get() {
    ms_gateway::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(|c| {
        c.dev_s3 = Some(DevS3Config {
            bind: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_owned(),
            access_key: "dev-access".into(),
            secret_key: Secret::new("dev-secret"),
        });
    });
    let s3_addr = gateway.s3_addr().expect("dev mode reports the S3 address");
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(format!("http://{s3_addr}"))
        .credentials_provider(Credentials::new(
            "dev-access",
            "dev-secret",
            None,
            None,
            "test",
        ))
        .force_path_style(true)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .http_client(http)
        .build();
    let client = aws_sdk_s3::Client::from_conf(config);
    within(
        "create_bucket",
        client.create_bucket().bucket("claims").send(),
    )
    .await
    .unwrap();
    within(
        "put_object",
        client
            .put_object()
            .bucket("claims")
            .key("a/b.json")
            .body(ByteStream::from_static(b"{\"big\":true}"))
            .send(),
    )
    .await
    .unwrap();
    let object = within(
        "get_object",
        client.get_object().bucket("claims").key("a/b.json").send(),
    )
    .await
    .unwrap();
    let bytes = within("the object body", object.body.collect())
        .await
        .unwrap()
        .into_bytes();
    assert_eq!(&bytes[..], b"{\"big\":true}");

    let wrong = aws_sdk_s3::Client::from_conf(
        client
            .config()
            .to_builder()
            .credentials_provider(Credentials::new("dev-access", "wrong", None, None, "test"))
            .build(),
    );
    let refused = within(
        "a badly signed get",
        wrong.get_object().bucket("claims").key("a/b.json").send(),
    )
    .await;
    assert!(refused.is_err(), "a bad signature was accepted");
    gateway.stop().await;
}
