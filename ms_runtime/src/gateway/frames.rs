//! Turning websocket frames into whole text messages.

use actix_http::ws::{Frame, Item};
use bytes::{Bytes, BytesMut};

/// What one websocket frame means for the session.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// A whole text message.
    Text(Bytes),
    /// A whole binary message (reserved in v1: answered with `bad_frame`).
    Binary,
    /// A ping to answer with this pong.
    Ping(Bytes),
    /// A pong (traffic, nothing to do).
    Pong,
    /// The peer closes.
    Close,
    /// A fragment was stored; wait for the rest.
    Partial,
    /// The fragments broke the rules, or outgrew the limit.
    Invalid(&'static str),
}

/// Reassembles fragmented messages, bounded by the frame limit.
#[derive(Default)]
pub(crate) struct Reassembly {
    /// `Some(is_text, bytes)` while a fragmented message is open.
    open: Option<(bool, BytesMut)>,
}

impl Reassembly {
    pub(crate) fn accept(&mut self, frame: Frame, limit: usize) -> Incoming {
        match frame {
            Frame::Text(bytes) => Incoming::Text(bytes),
            Frame::Binary(_) => Incoming::Binary,
            Frame::Ping(bytes) => Incoming::Ping(bytes),
            Frame::Pong(_) => Incoming::Pong,
            Frame::Close(_) => Incoming::Close,
            Frame::Continuation(item) => self.continuation(item, limit),
        }
    }

    fn continuation(&mut self, item: Item, limit: usize) -> Incoming {
        match item {
            Item::FirstText(bytes) | Item::FirstBinary(bytes) if self.open.is_some() => {
                let _ = bytes;
                self.open = None;
                Incoming::Invalid("a new fragmented message started before the last one ended")
            }
            Item::FirstText(bytes) => self.start(true, &bytes, limit),
            Item::FirstBinary(bytes) => self.start(false, &bytes, limit),
            Item::Continue(bytes) => match self.open.as_mut() {
                None => Incoming::Invalid("continuation frame without a first fragment"),
                Some((_, buf)) if buf.len() + bytes.len() > limit => {
                    self.open = None;
                    Incoming::Invalid("fragmented message over the frame limit")
                }
                Some((_, buf)) => {
                    buf.extend_from_slice(&bytes);
                    Incoming::Partial
                }
            },
            Item::Last(bytes) => match self.open.take() {
                None => Incoming::Invalid("last fragment without a first fragment"),
                Some((_, buf)) if buf.len() + bytes.len() > limit => {
                    Incoming::Invalid("fragmented message over the frame limit")
                }
                Some((is_text, mut buf)) => {
                    buf.extend_from_slice(&bytes);
                    if is_text {
                        Incoming::Text(buf.freeze())
                    } else {
                        Incoming::Binary
                    }
                }
            },
        }
    }

    fn start(&mut self, is_text: bool, bytes: &Bytes, limit: usize) -> Incoming {
        if bytes.len() > limit {
            return Incoming::Invalid("fragmented message over the frame limit");
        }
        self.open = Some((is_text, BytesMut::from(&bytes[..])));
        Incoming::Partial
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_are_joined() {
        let mut r = Reassembly::default();
        assert_eq!(
            r.accept(
                Frame::Continuation(Item::FirstText(Bytes::from_static(b"{\"a\""))),
                100
            ),
            Incoming::Partial
        );
        assert_eq!(
            r.accept(
                Frame::Continuation(Item::Continue(Bytes::from_static(b":"))),
                100
            ),
            Incoming::Partial
        );
        assert_eq!(
            r.accept(
                Frame::Continuation(Item::Last(Bytes::from_static(b"1}"))),
                100
            ),
            Incoming::Text(Bytes::from_static(b"{\"a\":1}"))
        );
    }

    #[test]
    fn fragments_are_bounded_and_checked() {
        let mut r = Reassembly::default();
        r.accept(
            Frame::Continuation(Item::FirstText(Bytes::from(vec![b'x'; 60]))),
            100,
        );
        assert!(matches!(
            r.accept(
                Frame::Continuation(Item::Last(Bytes::from(vec![b'x'; 60]))),
                100
            ),
            Incoming::Invalid(_)
        ));
        assert!(matches!(
            r.accept(Frame::Continuation(Item::Continue(Bytes::new())), 100),
            Incoming::Invalid(_)
        ));
    }
}
