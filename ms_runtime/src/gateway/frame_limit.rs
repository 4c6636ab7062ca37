//! The frame limit, enforced while reading (docs/protocol.md section 1).
//!
//! actix-http's websocket [`Codec`] checks a frame's size only once the
//! whole frame is in its buffer, and leaves fragments to the caller: a
//! gateway that declares a 2^40-byte frame and streams data would make the
//! client buffer without bound. [`LimitedCodec`] reads the header of the
//! next frame as soon as its bytes are in the buffer and refuses, before
//! any payload is buffered, a frame that declares more than the limit or a
//! fragment that takes its message past it. The session then closes with
//! 1009 and reconnects.
//!
//! It also sizes the read buffer. The codec needs each frame whole in one
//! buffer; when a frame's start lands near the buffer's end, the part
//! already read is copied to the front (or to a new buffer). actix-http
//! grows the buffer to about the frame in hand, so with 64 KiB frames that
//! copy came with nearly every frame (about 52 KB per request of the
//! 64 KiB benchmark). [`room_for`] makes room for several frames of the
//! size in hand instead, so the copy comes once per several frames.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;

use actix_codec::{Decoder, Encoder};
use actix_http::ws::{Codec, Frame, Item, Message, ProtocolError};
use bytes::BytesMut;

use crate::protocol::FrameHeader;

/// Frames of the size in hand the read buffer makes room for.
const FRAMES_PER_BUFFER: usize = 8;
/// Least room made when a frame does not fit (actix's own step is 8 KiB).
const MIN_ROOM: usize = 64 * 1024;
/// Most room made for several frames; a single frame larger than this
/// still gets room for itself (it has passed the limit check by then).
const MAX_ROOM: usize = 1024 * 1024;

/// Read-buffer capacity to make when a frame of `need` bytes (header
/// included) does not fit in what is left.
fn room_for(need: usize) -> usize {
    need.saturating_mul(FRAMES_PER_BUFFER)
        .clamp(MIN_ROOM, MAX_ROOM)
        .max(need)
}

/// A frame refused while reading.
#[derive(Debug)]
pub(crate) enum FrameError {
    /// The websocket protocol was broken, or the socket failed.
    Protocol(ProtocolError),
    /// A frame (or the fragments of one message) over the limit.
    TooLarge {
        /// The bytes declared by the header, with the message's earlier fragments.
        declared: u64,
        /// The limit in force.
        limit: usize,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Protocol(e) => write!(f, "websocket protocol error: {e}"),
            Self::TooLarge { declared, limit } => write!(
                f,
                "gateway sent a frame of {declared} bytes, over the {limit}-byte frame limit"
            ),
        }
    }
}

impl From<std::io::Error> for FrameError {
    fn from(e: std::io::Error) -> Self {
        Self::Protocol(ProtocolError::Io(e))
    }
}

/// actix-http's client [`Codec`] behind a check of each frame header.
///
/// The limit is shared with the session, which raises or lowers it when
/// `welcome.max_frame_bytes` arrives.
pub(crate) struct LimitedCodec {
    inner: Codec,
    /// The limit the inner codec was last given.
    inner_limit: usize,
    limit: Rc<Cell<usize>>,
    /// Payload bytes of the fragmented message being read, if one is open.
    message_bytes: u64,
}

impl LimitedCodec {
    pub(crate) fn new(inner: Codec, limit: Rc<Cell<usize>>) -> Self {
        let inner_limit = limit.get();
        Self {
            inner: inner.max_size(inner_limit),
            inner_limit,
            limit,
            message_bytes: 0,
        }
    }
}

impl Decoder for LimitedCodec {
    type Item = Frame;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        let limit = self.limit.get();
        if limit != self.inner_limit {
            self.inner = self.inner.clone().max_size(limit);
            self.inner_limit = limit;
        }
        if let Some(header) = FrameHeader::peek(src) {
            let declared = if header.opcode == 0 {
                self.message_bytes.saturating_add(header.payload_len)
            } else {
                header.payload_len
            };
            // a continuation counts with the fragments before it
            if declared > limit as u64 {
                return Err(FrameError::TooLarge { declared, limit });
            }
            // within the limit, so within usize
            let need = header
                .header_len
                .saturating_add(header.payload_len as usize);
            if src.len() < need && src.capacity() < need {
                src.reserve(room_for(need) - src.len());
            }
        }
        let frame = self.inner.decode(src).map_err(FrameError::Protocol)?;
        match &frame {
            Some(Frame::Continuation(Item::FirstText(b) | Item::FirstBinary(b))) => {
                self.message_bytes = b.len() as u64;
            }
            Some(Frame::Continuation(Item::Continue(b))) => {
                self.message_bytes = self.message_bytes.saturating_add(b.len() as u64);
            }
            Some(Frame::Continuation(Item::Last(_))) => self.message_bytes = 0,
            _ => {}
        }
        Ok(frame)
    }
}

impl Encoder<Message> for LimitedCodec {
    type Error = FrameError;

    fn encode(&mut self, item: Message, dst: &mut BytesMut) -> Result<(), FrameError> {
        self.inner.encode(item, dst).map_err(FrameError::Protocol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_made_for_several_frames_within_bounds() {
        assert_eq!(room_for(100), MIN_ROOM);
        assert_eq!(room_for(65_546), 8 * 65_546);
        assert_eq!(room_for(200_000), MAX_ROOM);
        assert_eq!(room_for(16 << 20), 16 << 20);
    }

    #[test]
    fn a_frame_that_does_not_fit_gets_room_for_several() {
        let mut c = codec(1 << 20);
        // a text frame declaring 65,535 bytes, of which 4 have arrived
        let start = [0x81, 126, 0xff, 0xff, b'a', b'b', b'c', b'd'];
        let mut buf = BytesMut::with_capacity(16);
        buf.extend_from_slice(&start);
        assert!(matches!(c.decode(&mut buf), Ok(None)));
        assert!(buf.capacity() >= 8 * (4 + 65_535));
        assert_eq!(&buf[..], &start);
    }

    fn codec(limit: usize) -> LimitedCodec {
        LimitedCodec::new(Codec::new().client_mode(), Rc::new(Cell::new(limit)))
    }

    #[test]
    fn a_declared_length_over_the_limit_is_refused_before_its_payload() {
        let mut c = codec(1024);
        let mut buf = BytesMut::from(&[0x81u8, 127][..]);
        buf.extend_from_slice(&(1u64 << 40).to_be_bytes());
        assert!(matches!(
            c.decode(&mut buf),
            Err(FrameError::TooLarge { declared, limit: 1024 }) if declared == 1 << 40
        ));
        // at the limit is fine
        let mut c = codec(4);
        let mut buf = BytesMut::from(&[0x81u8, 4, b'a', b'b', b'c', b'd'][..]);
        assert!(matches!(c.decode(&mut buf), Ok(Some(Frame::Text(_)))));
    }

    #[test]
    fn fragments_add_up_to_the_limit() {
        let mut c = codec(8);
        let mut buf = BytesMut::from(&[0x01u8, 4, b'a', b'b', b'c', b'd'][..]);
        assert!(matches!(
            c.decode(&mut buf),
            Ok(Some(Frame::Continuation(Item::FirstText(_))))
        ));
        buf.extend_from_slice(&[0x00, 4, b'e', b'f', b'g', b'h']);
        assert!(matches!(
            c.decode(&mut buf),
            Ok(Some(Frame::Continuation(Item::Continue(_))))
        ));
        buf.extend_from_slice(&[0x80, 1]);
        assert!(matches!(
            c.decode(&mut buf),
            Err(FrameError::TooLarge {
                declared: 9,
                limit: 8
            })
        ));
    }

    #[test]
    fn a_finished_message_starts_the_count_again_and_the_limit_can_change() {
        let limit = Rc::new(Cell::new(4));
        let mut c = LimitedCodec::new(Codec::new().client_mode(), limit.clone());
        let mut buf = BytesMut::from(&[0x01u8, 2, b'a', b'b', 0x80, 2, b'c', b'd'][..]);
        assert!(c.decode(&mut buf).unwrap().is_some());
        assert!(matches!(
            c.decode(&mut buf),
            Ok(Some(Frame::Continuation(Item::Last(_))))
        ));
        buf.extend_from_slice(&[0x81, 4, b'a', b'b', b'c', b'd']);
        assert!(matches!(c.decode(&mut buf), Ok(Some(Frame::Text(_)))));
        buf.extend_from_slice(&[0x81, 6, b'a', b'b', b'c', b'd', b'e', b'f']);
        assert!(matches!(
            c.decode(&mut buf),
            Err(FrameError::TooLarge { .. })
        ));
        limit.set(6);
        let mut buf = BytesMut::from(&[0x81u8, 6, b'a', b'b', b'c', b'd', b'e', b'f'][..]);
        assert!(matches!(c.decode(&mut buf), Ok(Some(Frame::Text(_)))));
    }
}
