//! The low-level `GatewayClient` (the seed's raw loop): connect, check the
//! state, receive requests and events, settle them, call out, close.

use std::time::Duration;

use ms_runtime::protocol::{ErrorCode, Json};
use ms_runtime::{GatewayClient, HandlerError, Received, Registration};
use ms_tests::{invoke, service_config, start_gateway};

#[actix_rt::test]
async fn raw_receive_loop_serves_requests_and_events() {
    let gateway = start_gateway();
    let client = GatewayClient::connect(
        &service_config(&gateway.ws_url(), 4),
        Registration::new("raw", ["add", "fail"]).with_topics(["ticks"]),
    )
    .unwrap();
    assert!(
        client
            .gateway()
            .wait_connected(Duration::from_secs(10))
            .await,
        "never connected"
    );
    assert!(client.is_connected());

    let http = gateway.http_url();
    let call = actix_rt::spawn({
        let http = http.clone();
        async move { invoke(&http, "raw", "add", "[2,3]", 5_000).await }
    });
    let Some(Received::Request(request)) = client.receive().await else {
        panic!("expected a request")
    };
    assert_eq!(request.route, "add");
    let numbers: Vec<i64> = request.parse().unwrap();
    client.reply(
        &request,
        Json::from_value(&numbers.iter().sum::<i64>()).unwrap(),
    );
    assert_eq!(call.await.unwrap(), (200, "5".to_owned()));

    let call = actix_rt::spawn({
        let http = http.clone();
        async move { invoke(&http, "raw", "fail", "null", 5_000).await }
    });
    let Some(Received::Request(request)) = client.receive().await else {
        panic!("expected a request")
    };
    client.fail(
        &request,
        HandlerError::with_code(ErrorCode::BadRequest, "no"),
    );
    let (status, body) = call.await.unwrap();
    assert_eq!(status, 400, "{body}");

    // an event published through the gateway's edge arrives and is acked
    let publish = awc::Client::new()
        .post(format!("{http}/v1/publish/ticks"))
        .basic_auth(ms_tests::USER, ms_tests::PASSWORD)
        .insert_header(("content-type", "application/json"))
        .send_body("42")
        .await
        .unwrap();
    assert_eq!(publish.status().as_u16(), 202);
    let Some(Received::Event(event)) = client.receive().await else {
        panic!("expected an event")
    };
    assert_eq!(
        (event.topic.as_str(), event.payload.as_str()),
        ("ticks", "42")
    );
    client.ack(&event);

    // calling out through the same connection
    let err = client
        .gateway()
        .request(
            "nobody",
            "x",
            Json::null(),
            Default::default(),
            Some(Duration::from_millis(300)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err.code(), ErrorCode::Timeout | ErrorCode::UnknownService),
        "{err:?}"
    );

    client.close().await;
    gateway.stop().await;
}
