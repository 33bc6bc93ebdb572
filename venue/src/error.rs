//! The venue tool's error type. Every message is given in Vietnamese and English,
//! because the owner of a market stall reads the same errors as an IT department.

use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong in the venue tool.
#[derive(Debug)]
#[non_exhaustive]
pub enum VenueError {
    /// The category slug is not one of [`quet_protocol::category::Category::ALL`].
    UnknownCategory(String),
    /// The authority URL is not an `http://` or `https://` URL with a host.
    BadAuthorityUrl(String),
    /// The authority's descriptor did not verify, or did not match the expected
    /// fingerprint.
    BadDescriptor(String),
    /// `create` refused to overwrite an existing venue file.
    VenueFileExists(PathBuf),
    /// The venue file could not be parsed or fails its checks.
    CorruptVenueFile(String),
    /// The passphrase does not open the venue file.
    WrongPassphrase,
    /// The venue file is protected and no passphrase was given.
    PassphraseRequired,
    /// A field given by the user is invalid (name too long, bad time, ...).
    InvalidInput(String),
    /// A file could not be read or written.
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A network request failed.
    Network(String),
    /// The server answered something that does not follow `spec/api.md`, or a
    /// bulletin did not verify.
    BadServerData(String),
    /// The authority's bulletin feed, as served, was refused by the chain rules
    /// (`quet_protocol::chain`): frozen, rolled back, forked or hiding bulletins.
    /// Nothing was matched; the visitors list may be out of date.
    FeedRefused {
        /// The server or mirror asked.
        server: String,
        /// The rule that failed.
        source: quet_protocol::Error,
    },
    /// An error from the protocol crate.
    Protocol(quet_protocol::Error),
}

impl VenueError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        VenueError::Io {
            context: context.into(),
            source,
        }
    }
}

impl fmt::Display for VenueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VenueError::UnknownCategory(s) => {
                let slugs: Vec<&str> = quet_protocol::category::Category::ALL
                    .iter()
                    .map(|c| c.slug())
                    .collect();
                write!(
                    f,
                    "Loại địa điểm không hợp lệ / unknown venue category: {s:?}. \
                     Chọn một trong / choose one of: {}",
                    slugs.join(", ")
                )
            }
            VenueError::BadAuthorityUrl(s) => write!(
                f,
                "Địa chỉ cơ quan y tế không hợp lệ / malformed authority URL: {s:?} \
                 (cần dạng / expected https://host[:port][/path])"
            ),
            VenueError::BadDescriptor(s) => write!(
                f,
                "Thông tin cơ quan y tế không hợp lệ / bad authority descriptor: {s}"
            ),
            VenueError::VenueFileExists(p) => write!(
                f,
                "Tệp địa điểm đã tồn tại, không ghi đè / venue file already exists, \
                 not overwriting: {}",
                p.display()
            ),
            VenueError::CorruptVenueFile(s) => {
                write!(f, "Tệp địa điểm bị hỏng / corrupt venue file: {s}")
            }
            VenueError::WrongPassphrase => write!(
                f,
                "Sai mật khẩu (hoặc tệp bị sửa) / wrong passphrase (or the file was altered)"
            ),
            VenueError::PassphraseRequired => write!(
                f,
                "Tệp địa điểm được bảo vệ bằng mật khẩu; đặt biến QUET_VENUE_PASSPHRASE / \
                 the venue file is passphrase-protected; set QUET_VENUE_PASSPHRASE"
            ),
            VenueError::InvalidInput(s) => write!(f, "Dữ liệu không hợp lệ / invalid input: {s}"),
            VenueError::Io { context, source } => {
                write!(f, "Lỗi tệp / file error ({context}): {source}")
            }
            VenueError::Network(s) => write!(f, "Lỗi mạng / network error: {s}"),
            VenueError::BadServerData(s) => {
                write!(f, "Dữ liệu máy chủ không hợp lệ / bad server data: {s}")
            }
            VenueError::FeedRefused { server, source } => {
                use quet_protocol::Error as P;
                let (vi, en) = match source {
                    P::HeadExpired { .. } => (
                        "nguồn bản tin bị đóng băng (đầu chuỗi đã hết hạn)",
                        "the bulletin feed is frozen (its newest signed head has expired)",
                    ),
                    P::HeadRollback { .. } => (
                        "nguồn bản tin bị quay lui về bản cũ",
                        "the bulletin feed was rolled back to an older state",
                    ),
                    P::ForkDetected { .. } => (
                        "nguồn bản tin khác với bản đã kiểm tra trước (chuỗi rẽ nhánh)",
                        "the bulletin feed differs from the one verified before (a fork)",
                    ),
                    P::ChainGap { .. } => (
                        "máy chủ giấu các bản tin chưa hết hạn",
                        "the server hides bulletins that cannot have expired yet",
                    ),
                    _ => (
                        "nguồn bản tin không hợp lệ",
                        "the bulletin feed does not verify",
                    ),
                };
                write!(
                    f,
                    "Từ chối {server}: {vi}; danh sách khách cần liên hệ có thể chưa cập nhật. \
                     Thử lại sau hoặc báo cơ quan y tế. / Refused {server}: {en}; the list of \
                     visitors to call may be out of date. Try again later or tell the health \
                     authority. ({source})"
                )
            }
            VenueError::Protocol(e) => write!(f, "Lỗi giao thức / protocol error: {e}"),
        }
    }
}

impl std::error::Error for VenueError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            VenueError::Io { source, .. } => Some(source),
            VenueError::Protocol(e) | VenueError::FeedRefused { source: e, .. } => Some(e),
            _ => None,
        }
    }
}

impl From<quet_protocol::Error> for VenueError {
    fn from(e: quet_protocol::Error) -> Self {
        VenueError::Protocol(e)
    }
}

/// The crate's result type.
pub type Result<T, E = VenueError> = std::result::Result<T, E>;
