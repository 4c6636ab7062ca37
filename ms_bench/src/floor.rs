//! The floor: an echo service with no framework. One websocket, hello,
//! then for every request a reply with the same payload. No acks kept, no
//! dedup, no reconnect, no actors: what a service costs at the least.

use futures_util::{SinkExt, StreamExt};
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::Message;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(serde::Deserialize)]
struct Incoming<'a> {
    kind: &'a str,
    id: &'a str,
    #[serde(borrow)]
    payload: Option<&'a RawValue>,
}

/// Connects to `url` and echoes until the connection closes.
pub async fn serve(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    run(url).await.map_err(|e| e.to_string().into())
}

async fn run(url: &str) -> Result<(), BoxError> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    ws.get_ref().get_ref_nodelay();
    let hello = r#"{"v":1,"kind":"hello","id":"floor-hello","service":"echo","instance":"floor","routes":["echo"],"topics":[],"max_in_flight":100000,"version":"floor"}"#;
    ws.send(Message::text(hello)).await?;
    let mut n: u64 = 0;
    while let Some(message) = ws.next().await {
        let Message::Text(text) = message? else {
            continue;
        };
        let Ok(frame) = serde_json::from_str::<Incoming<'_>>(text.as_str()) else {
            continue;
        };
        if frame.kind != "request" {
            continue;
        }
        let Some(payload) = frame.payload else {
            continue;
        };
        n += 1;
        let reply = format!(
            r#"{{"v":1,"kind":"reply","id":"f{n}","correlation_id":"{}","payload":{}}}"#,
            frame.id,
            payload.get()
        );
        ws.send(Message::text(reply)).await?;
    }
    Ok(())
}

/// Sets TCP_NODELAY on the client socket, as the runtime does.
trait NoDelay {
    fn get_ref_nodelay(&self);
}

impl NoDelay for tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream> {
    fn get_ref_nodelay(&self) {
        if let tokio_tungstenite::MaybeTlsStream::Plain(socket) = self {
            let _ = socket.set_nodelay(true);
        }
    }
}
