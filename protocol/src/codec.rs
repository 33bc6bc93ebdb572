//! The explicit wire codec: a bounds-checked [`Reader`] and an appending [`Writer`].
//!
//! Signed and encrypted bytes are laid out by hand (see `spec/protocol.md`) rather
//! than by a serialisation framework, so that the bytes are exactly the spec's.
//! Every read is checked; a short input is [`Error::Truncated`] and leftover input
//! is [`Error::TrailingBytes`].

use crate::error::{Error, Result};

/// Reads fields from a byte slice, front to back, never panicking.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Starts reading `bytes`, naming the object for error messages.
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Reader { rest: bytes, what }
    }

    /// Takes the next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.rest.len() < n {
            return Err(Error::Truncated { what: self.what });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    /// Takes a fixed-size array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// Reads one byte.
    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian u16.
    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian u32.
    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian u64.
    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Reads a UTF-8 string with a one-byte length prefix, at most `max` bytes.
    pub(crate) fn str8(&mut self, field: &'static str, max: usize) -> Result<String> {
        let len = usize::from(self.u8()?);
        self.string(field, len, max)
    }

    /// Reads a UTF-8 string with a two-byte length prefix, at most `max` bytes.
    pub(crate) fn str16(&mut self, field: &'static str, max: usize) -> Result<String> {
        let len = usize::from(self.u16()?);
        self.string(field, len, max)
    }

    fn string(&mut self, field: &'static str, len: usize, max: usize) -> Result<String> {
        if len > max {
            return Err(Error::TooLong { what: field, max });
        }
        let bytes = self.take(len)?;
        core::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| Error::InvalidUtf8 { field })
    }

    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Everything not yet read, without consuming it.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Everything not yet read, consuming it.
    pub(crate) fn take_rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.rest)
    }

    /// Fails unless every byte was read.
    pub(crate) fn finish(self) -> Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Error::TrailingBytes { what: self.what })
        }
    }
}

/// Appends fields to a byte vector.
#[derive(Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer with room for `capacity` bytes.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Writer {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// Appends raw bytes.
    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }

    /// Appends one byte.
    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    /// Appends a big-endian u16.
    pub(crate) fn u16(&mut self, v: u16) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }

    /// Appends a big-endian u32.
    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }

    /// Appends a big-endian u64.
    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }

    /// Appends a string with a one-byte length; the caller has checked the length.
    pub(crate) fn str8(&mut self, s: &str) -> &mut Self {
        let len = u8::try_from(s.len()).unwrap_or(u8::MAX);
        self.u8(len);
        self.bytes(s.as_bytes().get(..usize::from(len)).unwrap_or_default())
    }

    /// Appends a string with a two-byte length; the caller has checked the length.
    pub(crate) fn str16(&mut self, s: &str) -> &mut Self {
        let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
        self.u16(len);
        self.bytes(s.as_bytes().get(..usize::from(len)).unwrap_or_default())
    }

    /// Pads with zero bytes up to `len` total (no-op if already longer).
    pub(crate) fn pad_to(&mut self, len: usize) -> &mut Self {
        if self.buf.len() < len {
            self.buf.resize(len, 0);
        }
        self
    }

    /// Current length.
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// The bytes written so far.
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    /// The finished bytes.
    pub(crate) fn into_vec(self) -> Vec<u8> {
        self.buf
    }
}

/// Checks that a text field fits its limit before it is encoded.
pub(crate) fn check_len(what: &'static str, s: &str, max: usize) -> Result<()> {
    if s.len() > max {
        Err(Error::TooLong { what, max })
    } else {
        Ok(())
    }
}

/// Checks that every byte of a padding area is zero.
pub(crate) fn check_zero_padding(pad: &[u8], what: &'static str) -> Result<()> {
    if pad.iter().all(|&b| b == 0) {
        Ok(())
    } else {
        Err(Error::InvalidField { field: what })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_truncated_u32() {
        let mut r = Reader::new(&[1, 2, 3], "test");
        assert_eq!(r.u32(), Err(Error::Truncated { what: "test" }));
    }

    #[test]
    fn rejects_trailing_bytes() {
        let mut r = Reader::new(&[1, 2], "test");
        assert_eq!(r.u8(), Ok(1));
        assert_eq!(r.finish(), Err(Error::TrailingBytes { what: "test" }));
    }

    #[test]
    fn rejects_overlong_and_invalid_strings() {
        let mut r = Reader::new(&[3, b'a', b'b', b'c'], "t");
        assert_eq!(r.str8("f", 2), Err(Error::TooLong { what: "f", max: 2 }));
        let mut r = Reader::new(&[2, 0xff, 0xfe], "t");
        assert_eq!(r.str8("f", 9), Err(Error::InvalidUtf8 { field: "f" }));
    }

    #[test]
    fn strings_round_trip() {
        let mut w = Writer::default();
        w.str8("Phở Hà Nội").str16("xin chào");
        let bytes = w.into_vec();
        let mut r = Reader::new(&bytes, "t");
        assert_eq!(r.str8("a", 64).unwrap(), "Phở Hà Nội");
        assert_eq!(r.str16("b", 64).unwrap(), "xin chào");
        r.finish().unwrap();
    }
}
