//! `MS_GATEWAY_URL` listing several gateway nodes: the runtime takes the next
//! one at each connection attempt, so a dead first node does not keep the
//! service away (docs/protocol.md section 8: a service needs only node URLs).

use ms_runtime::testing::TestKit;
use ms_runtime::{Context, HandlerError, ms_service};

#[derive(Clone)]
struct Echo;

#[ms_service(name = "echo-rotating")]
impl Echo {
    #[route("echo")]
    async fn echo(&self, _ctx: &Context, text: String) -> Result<String, HandlerError> {
        Ok(text)
    }
}

#[actix_rt::test]
async fn a_dead_first_node_is_left_for_the_next() {
    let kit = TestKit::start().await.unwrap();
    // a port that was just free: nothing listens there now
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("ws://{}/v1/ws", dead.local_addr().unwrap());
    drop(dead);
    let config = kit
        .config_builder("echo-rotating")
        .gateway_url(format!("{dead_url},{}", kit.ws_url()))
        .build()
        .unwrap();
    assert_eq!(config.gateway_fallback_urls.len(), 1);
    kit.serve_with(config, Echo).await.unwrap();
    let answer: String = kit.call("echo-rotating", "echo", "hi").await.unwrap();
    assert_eq!(answer, "hi");
    kit.stop().await;
}
