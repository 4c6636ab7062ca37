//! WebSocket frame headers (RFC 6455 section 5.2) read from raw bytes: what
//! both sides need to enforce the frame limit while reading (section 1),
//! before a frame's payload is buffered.

/// What the first bytes of a frame say.
///
/// ```
/// use ms_protocol::FrameHeader;
///
/// // a masked text frame declaring 2^40 bytes: known from its 14 header bytes
/// let mut bytes = vec![0x81, 0xff];
/// bytes.extend_from_slice(&(1u64 << 40).to_be_bytes());
/// bytes.extend_from_slice(&[1, 2, 3, 4]);
/// let header = FrameHeader::peek(&bytes).expect("whole header");
/// assert_eq!((header.opcode, header.payload_len, header.header_len), (1, 1 << 40, 14));
/// assert_eq!(FrameHeader::peek(&bytes[..13]), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Last frame of its message.
    pub fin: bool,
    /// 0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong.
    pub opcode: u8,
    /// Whether a masking key follows the length.
    pub masked: bool,
    /// The payload length the header declares.
    pub payload_len: u64,
    /// Bytes of the header itself: 2 to 14.
    pub header_len: usize,
}

impl FrameHeader {
    /// Reads the header at the start of `buf`; `None` until all its bytes
    /// (length and masking key included) have arrived.
    pub fn peek(buf: &[u8]) -> Option<Self> {
        let (&first, &second) = (buf.first()?, buf.get(1)?);
        let masked = second & 0x80 != 0;
        let (payload_len, len_bytes) = match second & 0x7f {
            126 => (
                u64::from(u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?])),
                2,
            ),
            127 => {
                let bytes: [u8; 8] = buf.get(2..10)?.try_into().ok()?;
                (u64::from_be_bytes(bytes), 8)
            }
            short => (u64::from(short), 0),
        };
        let header_len = 2 + len_bytes + if masked { 4 } else { 0 };
        if buf.len() < header_len {
            return None;
        }
        Some(Self {
            fin: first & 0x80 != 0,
            opcode: first & 0x0f,
            masked,
            payload_len,
            header_len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(
        fin: bool,
        opcode: u8,
        masked: bool,
        payload_len: u64,
        header_len: usize,
    ) -> FrameHeader {
        FrameHeader {
            fin,
            opcode,
            masked,
            payload_len,
            header_len,
        }
    }

    #[test]
    fn seven_bit_lengths() {
        assert_eq!(
            FrameHeader::peek(&[0x81, 5]),
            Some(header(true, 1, false, 5, 2))
        );
        assert_eq!(
            FrameHeader::peek(&[0x01, 125, b'x']),
            Some(header(false, 1, false, 125, 2))
        );
        assert_eq!(
            FrameHeader::peek(&[0x89, 0]),
            Some(header(true, 9, false, 0, 2))
        );
    }

    #[test]
    fn sixteen_bit_lengths() {
        assert_eq!(
            FrameHeader::peek(&[0x82, 126, 0x01, 0x00]),
            Some(header(true, 2, false, 256, 4))
        );
        assert_eq!(
            FrameHeader::peek(&[0x80, 126, 0xff, 0xff]),
            Some(header(true, 0, false, 65_535, 4))
        );
    }

    #[test]
    fn sixty_four_bit_lengths() {
        let mut bytes = vec![0x81, 127];
        bytes.extend_from_slice(&(1u64 << 40).to_be_bytes());
        assert_eq!(
            FrameHeader::peek(&bytes),
            Some(header(true, 1, false, 1 << 40, 10))
        );
        let mut bytes = vec![0x81, 127];
        bytes.extend_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(
            FrameHeader::peek(&bytes).map(|h| h.payload_len),
            Some(u64::MAX)
        );
    }

    #[test]
    fn masked_headers_include_the_key() {
        assert_eq!(
            FrameHeader::peek(&[0x81, 0x85, 1, 2, 3, 4]),
            Some(header(true, 1, true, 5, 6))
        );
        let mut bytes = vec![0x81, 0xff];
        bytes.extend_from_slice(&7u64.to_be_bytes());
        bytes.extend_from_slice(&[1, 2, 3, 4]);
        assert_eq!(
            FrameHeader::peek(&bytes),
            Some(header(true, 1, true, 7, 14))
        );
        assert_eq!(FrameHeader::peek(&bytes[..13]), None);
    }

    #[test]
    fn partial_headers_wait_for_more() {
        assert_eq!(FrameHeader::peek(&[]), None);
        assert_eq!(FrameHeader::peek(&[0x81]), None);
        assert_eq!(FrameHeader::peek(&[0x81, 126, 0x01]), None);
        assert_eq!(FrameHeader::peek(&[0x81, 127, 0, 0, 0, 0, 0, 0, 1]), None);
        assert_eq!(FrameHeader::peek(&[0x81, 0x80, 1, 2, 3]), None);
    }
}
