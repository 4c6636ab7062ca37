//! S3 credentials from an AWS profile file (feature `aws-chain`): a service
//! without static keys signs with the profile's keys, and a signature-checking
//! store (s3s-fs) accepts them; wrong keys in the profile are refused.
//!
//! The chain reads the process environment, which a test cannot change
//! safely (`unsafe_code` is forbidden): each case runs this test binary again
//! as a child with its own environment.

#![allow(clippy::unwrap_used)] // the helper below is test code: a failure there is a test failure

mod s3_support;

use std::process::Command;

use ms_runtime::s3::{PutOptions, S3};
use s3_support::*;

/// Set in the child's environment: the store's endpoint.
const ENDPOINT_VAR: &str = "MS_TEST_CHAIN_ENDPOINT";

/// Runs [`child_puts_and_gets_with_profile_keys`] in a child whose only
/// credentials are a profile file with `secret`; true when it passed.
fn child_with_profile_secret(server: &Server, secret: &str) -> bool {
    let home = tempfile::tempdir().unwrap();
    let credentials = home.path().join("credentials");
    std::fs::write(
        &credentials,
        format!("[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {secret}\n"),
    )
    .unwrap();
    let config = home.path().join("config");
    std::fs::write(&config, "[default]\nregion = us-east-1\n").unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "child_puts_and_gets_with_profile_keys",
            "--exact",
            "--ignored",
            "--test-threads=1",
        ])
        .env("HOME", home.path())
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .env("AWS_CONFIG_FILE", &config)
        // no instance-metadata probing on a machine that is not EC2
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env(ENDPOINT_VAR, server.endpoint());
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "MS_S3_ACCESS_KEY_ID",
        "MS_S3_SECRET_ACCESS_KEY",
    ] {
        child.env_remove(var);
    }
    let output = child.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("1 passed") || stdout.contains("1 failed"),
        "the child did not run the case:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.status.success()
}

#[test]
fn profile_keys_sign_requests_a_checking_store_accepts() {
    let server = Server::start();
    assert!(
        child_with_profile_secret(&server, SECRET_KEY),
        "the store refused requests signed with the profile's keys"
    );
}

#[test]
fn wrong_profile_keys_are_refused_by_the_store() {
    let server = Server::start();
    assert!(
        !child_with_profile_secret(&server, "not-the-secret"),
        "a wrong secret in the profile was accepted: signatures are not checked"
    );
}

/// The child: S3 settings without keys, so only the chain can sign.
#[actix_rt::test]
#[ignore = "run by the tests above, in a child process with its own environment"]
async fn child_puts_and_gets_with_profile_keys() {
    let endpoint = std::env::var(ENDPOINT_VAR).expect("started by a parent test");
    let config = ms_runtime::Config::from_vars([
        ("MS_S3_ENDPOINT", endpoint.as_str()),
        ("MS_S3_BUCKET", "chain-bucket"),
    ])
    .unwrap();
    let s3 = S3::connect(config.s3.as_ref().unwrap()).unwrap();
    within("ensure_bucket", s3.ensure_bucket("chain-bucket"))
        .await
        .unwrap();
    within(
        "put_bytes",
        s3.put_bytes("chain-bucket", "a.txt", "alpha".into(), PutOptions::new()),
    )
    .await
    .unwrap();
    let back = within("get_bytes", s3.get_bytes("chain-bucket", "a.txt"))
        .await
        .unwrap();
    assert_eq!(&back[..], b"alpha");
}
