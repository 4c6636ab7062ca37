//! Bad credentials get 401 before the websocket upgrade and on HTTP; good
//! Basic credentials and configured bearer tokens are accepted.

mod common;

use common::*;
use ms_gateway::{Secret, Token};
use tokio_tungstenite::tungstenite::Error as WsError;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_are_refused_and_good_ones_accepted() {
    let gateway = start(|c| c.users.add_token(Token::new("ci", &Secret::new("t0ken"))));
    for auth in [
        None,
        Some(basic("svc:wrong")),
        Some(basic("nobody:pw")),
        Some("Bearer nope".to_owned()),
    ] {
        match open(&gateway, auth.as_deref()).await {
            Err(WsError::Http(response)) => assert_eq!(response.status(), 401, "{auth:?}"),
            other => panic!("expected 401 for {auth:?}, got {:?}", other.map(|_| ())),
        }
    }
    assert!(open(&gateway, Some(&basic(USER))).await.is_ok());
    assert!(open(&gateway, Some("Bearer t0ken")).await.is_ok());

    let addr = gateway.addr();
    let refused = http(
        addr,
        "GET",
        "/metrics",
        &[("Authorization", &basic("svc:wrong"))],
        "",
    )
    .await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json()["code"], "unauthorized");
    let refused = http(addr, "POST", "/v1/invoke/svc/echo", &[], "{}").await;
    assert_eq!(refused.status, 401);
    assert_eq!(get(addr, "/healthz").await.status, 200);
    let bearer = http(
        addr,
        "GET",
        "/healthz",
        &[("Authorization", "Bearer t0ken")],
        "",
    )
    .await;
    assert_eq!(bearer.status, 200);
    gateway.stop().await;
}
