//! Streaming base64 in fixed-size chunks, so a file of any size is encoded or
//! decoded in bounded memory (about 600 KiB whatever the file).

use std::fs::{self, File};
use std::io::{BufWriter, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use ::base64::Engine as _;
use ::base64::engine::general_purpose::STANDARD;

use super::EncodingError;

/// Input bytes per encoded chunk: a multiple of 3, so only the last chunk pads.
const ENCODE_CHUNK: usize = 48 * 1024;
/// Input characters read per decoded chunk.
const DECODE_CHUNK: usize = 64 * 1024;

/// Encodes everything `reader` yields as standard base64 into `writer`,
/// 48 KiB at a time. Returns the number of input bytes.
///
/// # Errors
/// [`EncodingError::Io`] when reading or writing fails.
///
/// ```
/// let mut out = Vec::new();
/// let n = ms_runtime::encoding::encode_stream(&b"hello"[..], &mut out)?;
/// assert_eq!((n, out.as_slice()), (5, &b"aGVsbG8="[..]));
/// # Ok::<(), ms_runtime::encoding::EncodingError>(())
/// ```
pub fn encode_stream<R: Read, W: Write>(
    mut reader: R,
    mut writer: W,
) -> Result<u64, EncodingError> {
    let mut input = vec![0u8; ENCODE_CHUNK];
    let mut output = String::with_capacity(ENCODE_CHUNK / 3 * 4);
    let mut total = 0u64;
    loop {
        let filled = fill(&mut reader, &mut input)?;
        if filled == 0 {
            break;
        }
        total += filled as u64;
        output.clear();
        STANDARD.encode_string(&input[..filled], &mut output);
        writer.write_all(output.as_bytes())?;
        if filled < input.len() {
            break;
        }
    }
    writer.flush()?;
    Ok(total)
}

/// Decodes standard base64 from `reader` into `writer`, 64 KiB at a time.
/// ASCII whitespace (line breaks of wrapped base64) is skipped. Returns the
/// number of bytes written.
///
/// # Errors
/// [`EncodingError`] naming the offset in the input of the first bad byte,
/// or [`EncodingError::Io`].
///
/// ```
/// let mut out = Vec::new();
/// ms_runtime::encoding::decode_stream(&b"aGVs\nbG8=\n"[..], &mut out)?;
/// assert_eq!(out, b"hello");
/// # Ok::<(), ms_runtime::encoding::EncodingError>(())
/// ```
pub fn decode_stream<R: Read, W: Write>(
    mut reader: R,
    mut writer: W,
) -> Result<u64, EncodingError> {
    let mut raw = vec![0u8; DECODE_CHUNK];
    // significant characters not yet decoded, and their offsets in the input
    let mut pending: Vec<u8> = Vec::with_capacity(DECODE_CHUNK + 4);
    let mut positions: Vec<u64> = Vec::with_capacity(DECODE_CHUNK + 4);
    let mut output = Vec::with_capacity(DECODE_CHUNK / 4 * 3 + 3);
    let mut offset = 0u64;
    let mut significant = 0u64;
    let mut written = 0u64;
    let mut padded = false;
    loop {
        let filled = fill(&mut reader, &mut raw)?;
        for (i, &byte) in raw[..filled].iter().enumerate() {
            if matches!(byte, b' ' | b'\t' | b'\r' | b'\n') {
                continue;
            }
            let at = offset + i as u64;
            if padded {
                // data after a padded group: two streams glued together
                return Err(EncodingError::InvalidByte { offset: at, byte });
            }
            pending.push(byte);
            positions.push(at);
        }
        offset += filled as u64;
        let at_end = filled < raw.len();
        let whole = if at_end {
            pending.len()
        } else {
            pending.len() / 4 * 4
        };
        if whole > 0 {
            if at_end && whole % 4 != 0 {
                return Err(EncodingError::InvalidLength {
                    length: significant + whole as u64,
                });
            }
            output.clear();
            STANDARD
                .decode_vec(&pending[..whole], &mut output)
                .map_err(|e| EncodingError::from_base64(e, 0, Some(&positions[..whole])))?;
            writer.write_all(&output)?;
            written += output.len() as u64;
            significant += whole as u64;
            padded = pending[whole - 1] == b'=';
            pending.drain(..whole);
            positions.drain(..whole);
        }
        if at_end {
            break;
        }
    }
    writer.flush()?;
    Ok(written)
}

/// Encodes the file at `src` into a new file at `dst`, in bounded memory.
/// Returns the number of bytes read.
///
/// # Errors
/// [`EncodingError::Io`] when a file cannot be read or written.
///
/// ```
/// use ms_runtime::encoding;
///
/// let dir = tempfile::tempdir()?;
/// let (pdf, text) = (dir.path().join("scan.pdf"), dir.path().join("scan.b64"));
/// std::fs::write(&pdf, b"%PDF-1.7")?;
/// assert_eq!(encoding::encode_file(&pdf, &text)?, 8);
/// assert_eq!(std::fs::read_to_string(&text)?, "JVBERi0xLjc=");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_file(src: impl AsRef<Path>, dst: impl AsRef<Path>) -> Result<u64, EncodingError> {
    let input = File::open(src)?;
    write_atomically(dst.as_ref(), |out| encode_stream(input, out))
}

/// Decodes the base64 file at `src` into a new file at `dst`, in bounded
/// memory. `dst` appears only when the whole input decoded: a failure
/// leaves no half-written file. Returns the number of bytes written.
///
/// # Errors
/// [`EncodingError`] for bad input (with its offset) or failed I/O.
///
/// ```
/// use ms_runtime::encoding;
///
/// let dir = tempfile::tempdir()?;
/// let (text, pdf) = (dir.path().join("scan.b64"), dir.path().join("scan.pdf"));
/// std::fs::write(&text, "JVBERi0xLjc=\n")?;
/// assert_eq!(encoding::decode_file(&text, &pdf)?, 8);
///
/// std::fs::write(&text, "JVBE$i0xLjc=")?;
/// let bad = dir.path().join("bad.pdf");
/// assert!(encoding::decode_file(&text, &bad).is_err());
/// assert!(!bad.exists()); // no half-written file
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode_file(src: impl AsRef<Path>, dst: impl AsRef<Path>) -> Result<u64, EncodingError> {
    let input = File::open(src)?;
    write_atomically(dst.as_ref(), |out| decode_stream(input, out))
}

/// Writes into a sibling temporary file, then renames it over `dst`.
fn write_atomically(
    dst: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<u64, EncodingError>,
) -> Result<u64, EncodingError> {
    let partial = partial_path(dst);
    let result = File::create(&partial)
        .map_err(EncodingError::from)
        .and_then(|file| {
            let mut out = BufWriter::with_capacity(64 * 1024, file);
            let n = write(&mut out)?;
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            Ok(n)
        })
        .and_then(|n| {
            fs::rename(&partial, dst)
                .map(|()| n)
                .map_err(EncodingError::from)
        });
    if result.is_err() {
        // best effort: the error that matters is the one being returned
        let _ = fs::remove_file(&partial);
    }
    result
}

fn partial_path(dst: &Path) -> PathBuf {
    let mut name = dst
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    dst.with_file_name(name)
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn fill(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    /// Deterministic pseudo-random bytes, generated on the fly.
    struct Noise {
        state: u64,
        left: u64,
    }

    impl Read for Noise {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.left as usize);
            for b in &mut buf[..n] {
                self.state = self
                    .state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *b = (self.state >> 33) as u8;
            }
            self.left -= n as u64;
            Ok(n)
        }
    }

    #[test]
    fn streams_match_the_one_shot_functions_at_every_chunk_edge() {
        for len in [
            0,
            1,
            2,
            3,
            ENCODE_CHUNK - 1,
            ENCODE_CHUNK,
            ENCODE_CHUNK + 1,
            3 * ENCODE_CHUNK + 2,
        ] {
            let mut bytes = Vec::new();
            Noise {
                state: len as u64,
                left: len as u64,
            }
            .read_to_end(&mut bytes)
            .unwrap();
            let mut encoded = Vec::new();
            assert_eq!(encode_stream(&bytes[..], &mut encoded).unwrap(), len as u64);
            assert_eq!(
                encoded,
                super::super::encode(&bytes).into_bytes(),
                "len {len}"
            );
            let mut decoded = Vec::new();
            assert_eq!(
                decode_stream(&encoded[..], &mut decoded).unwrap(),
                len as u64
            );
            assert_eq!(decoded, bytes, "len {len}");
        }
    }

    #[test]
    fn wrapped_base64_decodes() {
        let bytes: Vec<u8> = (0..200).collect();
        let text = super::super::encode(&bytes);
        let wrapped: Vec<u8> = text
            .as_bytes()
            .chunks(76)
            .flat_map(|line| line.iter().copied().chain(*b"\r\n"))
            .collect();
        let mut out = Vec::new();
        decode_stream(&wrapped[..], &mut out).unwrap();
        assert_eq!(out, bytes);
    }

    #[test]
    fn bad_bytes_are_reported_at_their_input_offset() {
        // 70 000 valid characters, then a bad one after a line break
        let mut text = "QUJD".repeat(17_500).into_bytes();
        text.extend_from_slice(b"\nQU*D");
        match decode_stream(&text[..], std::io::sink()) {
            Err(EncodingError::InvalidByte {
                offset: 70_003,
                byte: b'*',
            }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn data_after_padding_is_refused() {
        match decode_stream(&b"QQ==QUJD"[..], std::io::sink()) {
            Err(EncodingError::InvalidByte {
                offset: 2,
                byte: b'=',
            }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn truncated_input_is_an_invalid_length() {
        assert!(matches!(
            decode_stream(&b"QUJDQ"[..], std::io::sink()),
            Err(EncodingError::InvalidLength { length: 5 })
        ));
    }

    #[test]
    fn failed_decode_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("in.b64");
        std::fs::write(&src, b"QUJD!!!!").unwrap();
        let dst = dir.path().join("out.bin");
        assert!(decode_file(&src, &dst).is_err());
        assert!(!dst.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no partial file left"
        );
    }
}
