//! Decoding stored exposure notices.
//!
//! The server stores each approved notice as `ExposureNotice::to_bytes` and needs it
//! back as an `ExposureNotice` when it builds the next bulletin. The protocol crate's
//! notice reader is crate-private, so this module decodes the documented layout
//! (`spec/protocol.md`, `notice` in `quet_protocol::notice`):
//!
//! ```text
//! notice = [16] nonce || u8 epoch kind || u32 first epoch || u16 count
//!          || count × ( [32] venue_time_secret(e) || [16] wrap_e )
//!          || u16 body length || sealed body
//! ```
//!
//! The input is the server's own output; a round-trip test pins the layout, and
//! [`decode_notice`] re-encodes and compares so a layout change fails loudly.

use quet_protocol::notice::{ExposureNotice, MAX_NOTICE_EPOCHS, NoticeEntry};
use quet_protocol::time::{Epoch, EpochKind};

fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, rest) = b.split_at_checked(n)?;
    *b = rest;
    Some(head)
}

fn arr<const N: usize>(b: &mut &[u8]) -> Option<[u8; N]> {
    take(b, N)?.try_into().ok()
}

/// Decodes one encoded notice; `None` unless it re-encodes to the same bytes.
pub fn decode_notice(bytes: &[u8]) -> Option<ExposureNotice> {
    let mut b = bytes;
    let nonce = arr::<16>(&mut b)?;
    let kind = EpochKind::from_byte(arr::<1>(&mut b)?[0]).ok()?;
    let first = u32::from_be_bytes(arr::<4>(&mut b)?);
    let count = usize::from(u16::from_be_bytes(arr::<2>(&mut b)?));
    if count == 0 || count > MAX_NOTICE_EPOCHS {
        return None;
    }
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        entries.push(NoticeEntry {
            venue_time_secret: arr::<32>(&mut b)?,
            wrap: arr::<16>(&mut b)?,
        });
    }
    let body_len = usize::from(u16::from_be_bytes(arr::<2>(&mut b)?));
    let sealed_body = take(&mut b, body_len)?.to_vec();
    if !b.is_empty() {
        return None;
    }
    let notice = ExposureNotice {
        nonce,
        first_epoch: Epoch { kind, index: first },
        entries,
        sealed_body,
    };
    (notice.to_bytes().ok()?.as_slice() == bytes).then_some(notice)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quet_protocol::testing::test_rng;
    use quet_protocol::time::UnixTime;

    #[test]
    fn round_trips_protocol_encoding() {
        let mut rng = test_rng(9);
        let first = Epoch::hour_of(UnixTime(1_790_000_000)).unwrap();
        for count in [1usize, 3, 48] {
            let n = ExposureNotice::decoy(&mut rng, first, count, 128);
            let bytes = n.to_bytes().unwrap();
            assert_eq!(decode_notice(&bytes), Some(n));
            assert_eq!(decode_notice(&bytes[..bytes.len() - 1]), None);
            let mut longer = bytes.clone();
            longer.push(0);
            assert_eq!(decode_notice(&longer), None);
        }
    }
}
