//! The frame limit enforced while reading (docs/protocol.md section 1).
//!
//! actix-http's websocket decoder checks a frame's size only once the whole
//! frame has arrived, and actix-ws joins continuation frames after reading
//! them, so a peer could make the gateway buffer gigabytes before either
//! says no. [`FrameGuard`] sits between the socket's byte stream and that
//! decoder and follows the frame boundaries itself: a header that declares
//! more than the limit, or data frames of one message that add up to more,
//! end the stream at once, having let through at most the limit plus one
//! read of the socket.

use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::error::PayloadError;
use bytes::Bytes;
use futures_util::Stream;
use ms_protocol::FrameHeader;

/// Why a peer's frames were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// One frame's header declared this many payload bytes.
    FrameTooBig(u64),
    /// The data frames of one message (its fragments) added up to this many.
    MessageTooBig(u64),
}

/// Follows websocket frame boundaries in a byte stream; pure, no I/O.
#[derive(Debug, Clone)]
pub struct FrameScanner {
    limit: u64,
    header: [u8; 14],
    have: usize,
    /// Payload bytes of the current frame still to pass.
    remaining: u64,
    /// Payload bytes of the current message's data frames so far.
    message: u64,
}

impl FrameScanner {
    /// A scanner allowing frames and messages of at most `limit` payload bytes.
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            header: [0; 14],
            have: 0,
            remaining: 0,
            message: 0,
        }
    }

    /// Takes the next bytes of the stream.
    ///
    /// # Errors
    /// The first [`Violation`] found; the scanner should not be fed again.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), Violation> {
        while !bytes.is_empty() {
            if self.remaining > 0 {
                let skip = usize::try_from(self.remaining)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                bytes = &bytes[skip..];
                self.remaining = self.remaining.saturating_sub(skip as u64);
                continue;
            }
            self.header[self.have] = bytes[0];
            self.have += 1;
            bytes = &bytes[1..];
            if let Some(header) = FrameHeader::peek(&self.header[..self.have]) {
                self.have = 0;
                self.frame_header(header)?;
            }
        }
        Ok(())
    }

    fn frame_header(&mut self, header: FrameHeader) -> Result<(), Violation> {
        let len = header.payload_len;
        if len > self.limit {
            return Err(Violation::FrameTooBig(len));
        }
        match header.opcode {
            // continuation: adds to the message
            0 => self.message = self.message.saturating_add(len),
            // text or binary: starts one
            1 | 2 => self.message = len,
            // control frames stand alone
            _ => {}
        }
        if self.message > self.limit {
            return Err(Violation::MessageTooBig(self.message));
        }
        self.remaining = len;
        Ok(())
    }
}

/// A byte stream passed through a [`FrameScanner`]: ends with
/// `PayloadError::Overflow` at the first violation, which it also leaves in
/// the shared cell for the session to read.
pub struct FrameGuard<S> {
    inner: S,
    scanner: FrameScanner,
    violation: Rc<Cell<Option<Violation>>>,
    done: bool,
}

impl<S> FrameGuard<S> {
    /// Guards `inner` with frames of at most `limit` bytes; a violation is
    /// reported in `violation`.
    pub fn new(inner: S, limit: u64, violation: Rc<Cell<Option<Violation>>>) -> Self {
        Self {
            inner,
            scanner: FrameScanner::new(limit),
            violation,
            done: false,
        }
    }
}

impl<S> Stream for FrameGuard<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => match this.scanner.feed(&bytes) {
                Ok(()) => Poll::Ready(Some(Ok(bytes))),
                Err(violation) => {
                    this.done = true;
                    this.violation.set(Some(violation));
                    Poll::Ready(Some(Err(PayloadError::Overflow)))
                }
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame header (masked, as clients must send) for `len` bytes.
    fn header(opcode: u8, fin: bool, len: u64) -> Vec<u8> {
        let mut h = vec![opcode | if fin { 0x80 } else { 0 }];
        match len {
            0..=125 => h.push(0x80 | len as u8),
            126..=65_535 => {
                h.push(0x80 | 126);
                h.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                h.push(0x80 | 127);
                h.extend_from_slice(&len.to_be_bytes());
            }
        }
        h.extend_from_slice(&[1, 2, 3, 4]);
        h
    }

    fn frame(opcode: u8, fin: bool, len: usize) -> Vec<u8> {
        let mut f = header(opcode, fin, len as u64);
        f.extend(std::iter::repeat_n(b'x', len));
        f
    }

    #[test]
    fn frames_within_the_limit_pass_in_any_split() {
        let mut stream = frame(1, true, 100);
        stream.extend(frame(1, true, 1000));
        stream.extend(frame(9, true, 4));
        stream.extend(frame(2, true, 70_000));
        for split in [1, 2, 3, 7, 13, 4096] {
            let mut scanner = FrameScanner::new(70_000);
            for chunk in stream.chunks(split) {
                assert_eq!(scanner.feed(chunk), Ok(()), "split {split}");
            }
        }
    }

    #[test]
    fn a_declared_length_over_the_limit_is_refused_from_its_header_alone() {
        let mut scanner = FrameScanner::new(1 << 20);
        let h = header(1, true, 1 << 62);
        assert_eq!(scanner.feed(&h), Err(Violation::FrameTooBig(1 << 62)));
        let mut scanner = FrameScanner::new(1000);
        assert_eq!(
            scanner.feed(&header(2, true, 1001)),
            Err(Violation::FrameTooBig(1001))
        );
    }

    #[test]
    fn fragments_adding_up_past_the_limit_are_refused() {
        let mut scanner = FrameScanner::new(1000);
        assert_eq!(scanner.feed(&frame(1, false, 600)), Ok(()));
        assert_eq!(scanner.feed(&frame(9, true, 10)), Ok(()), "a ping between");
        assert_eq!(
            scanner.feed(&header(0, true, 600)),
            Err(Violation::MessageTooBig(1200))
        );
    }

    #[test]
    fn a_new_message_starts_the_count_again() {
        let mut scanner = FrameScanner::new(1000);
        for _ in 0..5 {
            assert_eq!(scanner.feed(&frame(1, false, 500)), Ok(()));
            assert_eq!(scanner.feed(&frame(0, true, 500)), Ok(()));
        }
    }

    #[test]
    fn the_guard_stops_the_stream_and_reports_why() {
        let chunks: Vec<Result<Bytes, PayloadError>> = vec![
            Ok(Bytes::from(frame(1, true, 10))),
            Ok(Bytes::from(header(1, true, 1 << 40))),
            Ok(Bytes::from(vec![b'x'; 1000])),
        ];
        let cell = Rc::new(Cell::new(None));
        let guard = FrameGuard::new(futures_util::stream::iter(chunks), 100, cell.clone());
        let items = futures_executor_block_on(guard);
        assert_eq!(items, vec![true, false]);
        assert_eq!(cell.get(), Some(Violation::FrameTooBig(1 << 40)));
    }

    /// Drains a ready stream without a runtime: Ok items as true, errors as false.
    fn futures_executor_block_on<S>(mut stream: S) -> Vec<bool>
    where
        S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
    {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut out = Vec::new();
        while let Poll::Ready(Some(item)) = Pin::new(&mut stream).poll_next(&mut cx) {
            out.push(item.is_ok());
        }
        out
    }
}
