//! The client's one error type, with a bilingual explanation and a documented exit
//! code for each kind of failure.

use core::fmt;

use quet_protocol::Error as ProtocolError;
use quet_protocol::code::SCREEN_FRESHNESS_SECS;

use crate::text::{Bilingual, LocalZone};

/// Process exit codes of the `quet` command (also in `--help` and the README).
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// Unexpected internal error.
    pub const INTERNAL: i32 = 1;
    /// Bad command-line usage (clap).
    pub const USAGE: i32 = 2;
    /// The check-in code was refused (bad signature, expired, unknown authority, …).
    pub const BAD_CODE: i32 = 3;
    /// The server could not be reached or answered something unexpected.
    pub const NETWORK: i32 = 4;
    /// A bulletin failed verification (signature, chain, expiry); nothing was stored.
    pub const BULLETIN_REJECTED: i32 = 5;
    /// The authorization code is wrong, used or expired.
    pub const AUTH_CODE: i32 = 6;
    /// The server is rate-limiting or busy: try again later.
    pub const TRY_LATER: i32 = 7;
    /// Local storage failed (disk, database).
    pub const STORAGE: i32 = 8;
    /// The user declined a confirmation.
    pub const CANCELLED: i32 = 9;
    /// The request names something that does not exist (check-in id, authority).
    pub const NOT_FOUND: i32 = 10;
    /// The diary is locked: a passphrase is needed, was wrong, or attempts are
    /// paused after too many wrong ones.
    pub const LOCKED: i32 = 11;
    /// `quet sync`: alerts may be out of date (no valid signed head from an
    /// authority); what could be verified was stored.
    pub const STALE: i32 = 12;
}

/// Everything that can go wrong in the client.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// A scanned code was refused by the protocol checks.
    Code(ProtocolError),
    /// A bulletin from `authority` was rejected; nothing from it was stored.
    Bulletin {
        /// The authority's id.
        authority: u32,
        /// The bulletin's sequence number, as requested.
        sequence: u64,
        /// Why.
        source: ProtocolError,
    },
    /// An authority descriptor could not be decoded or verified.
    Descriptor(ProtocolError),
    /// The feed of `authority` was refused: its signed head is expired, older than
    /// one already seen, contradicts an accepted bulletin (a fork), or would skip
    /// bulletins without signed evidence that they expired. Nothing was stored.
    Feed {
        /// The authority's id.
        authority: u32,
        /// Why.
        source: ProtocolError,
    },
    /// The server lists fewer bulletins than this phone already accepted (rollback).
    ChainRollback {
        /// The authority's id.
        authority: u32,
        /// What the phone has accepted.
        have: u64,
        /// What the server lists as latest.
        latest: u64,
    },
    /// No authority is pinned with this id.
    UnknownAuthority(u32),
    /// A report needs an authority but several are pinned and none was chosen.
    AmbiguousAuthority,
    /// No authority is pinned at all.
    NoAuthority,
    /// There is no check-in with this id.
    NoSuchCheckIn(u64),
    /// The operation needs an ongoing check-in.
    NotCheckedIn,
    /// The server refused the authorization code (wrong, used or expired).
    AuthCodeInvalid,
    /// The typed authorization code is malformed (a typo); nothing was sent.
    AuthCodeTypo,
    /// The server is rate-limiting this client.
    RateLimited {
        /// Seconds to wait, if the server said.
        retry_after: Option<u64>,
    },
    /// The server is busy.
    Busy,
    /// The server answered with an unexpected status or body.
    Server {
        /// HTTP status.
        status: u16,
        /// The `error` kind from the JSON body, if any.
        kind: String,
        /// The server's message.
        message: String,
    },
    /// The network request failed.
    Network(String),
    /// Local storage failed.
    Storage(String),
    /// A stored row did not decrypt: wrong local key or a tampered database.
    LocalDecrypt,
    /// An image could not be read, or holds no QR code.
    Image(String),
    /// A setting is out of range.
    InvalidSetting(String),
    /// There are no check-ins to report in the requested window.
    NothingToReport,
    /// The user declined.
    Cancelled,
    /// Reading the diary or alert details needs the unlock (PIN, passphrase or
    /// passkey).
    Locked,
    /// The passphrase or PIN (or passkey output) did not open the diary key.
    WrongPassphrase {
        /// Consecutive failures so far.
        failures: u32,
        /// When the next attempt will be allowed, if attempts are now paused.
        retry_at: Option<u64>,
    },
    /// Too many wrong attempts: the next one is allowed at `retry_at`.
    UnlockThrottled {
        /// Unix time of the next allowed attempt.
        retry_at: u64,
    },
    /// No diary key exists yet (nothing to unlock).
    NotSetUp,
    /// No valid signed head from `authority` since `since` (0: never): alerts may
    /// be out of date.
    Stale {
        /// The authority.
        authority: u32,
        /// Issue time of the newest verified head (0 if none was ever verified).
        since: u64,
    },
    /// The data directory was written by an older version with a key file next to
    /// the database; it must be migrated with a new passphrase first.
    MigrationNeeded,
}

impl ClientError {
    /// The process exit code for this error (see [`exit`]).
    pub fn exit_code(&self) -> i32 {
        match self {
            ClientError::Code(_) => exit::BAD_CODE,
            ClientError::Feed {
                source: ProtocolError::HeadExpired { .. },
                ..
            } => exit::STALE,
            ClientError::Bulletin { .. }
            | ClientError::ChainRollback { .. }
            | ClientError::Feed { .. } => exit::BULLETIN_REJECTED,
            ClientError::Descriptor(_) => exit::BAD_CODE,
            ClientError::UnknownAuthority(_)
            | ClientError::NoSuchCheckIn(_)
            | ClientError::NotCheckedIn
            | ClientError::NoAuthority
            | ClientError::AmbiguousAuthority
            | ClientError::NothingToReport => exit::NOT_FOUND,
            ClientError::AuthCodeInvalid | ClientError::AuthCodeTypo => exit::AUTH_CODE,
            ClientError::RateLimited { .. } | ClientError::Busy => exit::TRY_LATER,
            ClientError::Server { .. } | ClientError::Network(_) => exit::NETWORK,
            ClientError::Storage(_) | ClientError::LocalDecrypt => exit::STORAGE,
            ClientError::Image(_) => exit::BAD_CODE,
            ClientError::InvalidSetting(_) => exit::USAGE,
            ClientError::Cancelled => exit::CANCELLED,
            ClientError::Locked
            | ClientError::WrongPassphrase { .. }
            | ClientError::UnlockThrottled { .. }
            | ClientError::MigrationNeeded => exit::LOCKED,
            ClientError::NotSetUp => exit::NOT_FOUND,
            ClientError::Stale { .. } => exit::STALE,
        }
    }

    /// A stable snake_case kind for `--json` output and scripts.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientError::Code(e) => match e {
                ProtocolError::NotAQuetCode => "not_a_quet_code",
                ProtocolError::BadSignature { .. } => "bad_signature",
                ProtocolError::CodeNotFresh { .. } | ProtocolError::PosterNotToday { .. } => {
                    "code_expired"
                }
                ProtocolError::UnknownAuthority(_) | ProtocolError::UnknownKeyId { .. } => {
                    "unknown_authority"
                }
                ProtocolError::UnsupportedVersion { .. } => "unsupported_version",
                ProtocolError::VenueRevoked => "venue_revoked",
                _ => "malformed_code",
            },
            ClientError::Bulletin { .. } => "bulletin_rejected",
            ClientError::Feed { source, .. } => match source {
                ProtocolError::ForkDetected { .. } => "fork_detected",
                ProtocolError::HeadExpired { .. } => "head_expired",
                ProtocolError::HeadRollback { .. } => "head_rollback",
                ProtocolError::ChainGap { .. } => "chain_gap",
                _ => "head_rejected",
            },
            ClientError::Descriptor(_) => "bad_descriptor",
            ClientError::ChainRollback { .. } => "chain_rollback",
            ClientError::UnknownAuthority(_) => "unknown_authority",
            ClientError::AmbiguousAuthority => "ambiguous_authority",
            ClientError::NoAuthority => "no_authority",
            ClientError::NoSuchCheckIn(_) => "no_such_check_in",
            ClientError::NotCheckedIn => "not_checked_in",
            ClientError::AuthCodeInvalid => "auth_code_invalid",
            ClientError::AuthCodeTypo => "auth_code_typo",
            ClientError::RateLimited { .. } => "rate_limited",
            ClientError::Busy => "busy",
            ClientError::Server { .. } => "server_error",
            ClientError::Network(_) => "network",
            ClientError::Storage(_) => "storage",
            ClientError::LocalDecrypt => "local_decrypt",
            ClientError::Image(_) => "image",
            ClientError::InvalidSetting(_) => "invalid_setting",
            ClientError::NothingToReport => "nothing_to_report",
            ClientError::Cancelled => "cancelled",
            ClientError::Locked => "locked",
            ClientError::WrongPassphrase { .. } => "wrong_passphrase",
            ClientError::UnlockThrottled { .. } => "unlock_throttled",
            ClientError::NotSetUp => "not_set_up",
            ClientError::MigrationNeeded => "migration_needed",
            ClientError::Stale { .. } => "alerts_out_of_date",
        }
    }

    /// The explanation for a person, in Vietnamese and English, with times in
    /// Vietnam's time zone.
    pub fn explain(&self) -> Bilingual {
        self.explain_in(&LocalZone::vietnam())
    }

    /// The explanation for a person, with times in `zone`.
    pub fn explain_in(&self, zone: &LocalZone) -> Bilingual {
        let format_time = |t: u64| zone.format(t);
        match self {
            ClientError::Code(e) => explain_code(e, zone),
            ClientError::Bulletin {
                authority,
                sequence,
                source,
            } => Bilingual::new(
                format!(
                    "Bản tin số {sequence} của cơ quan y tế {authority:08x} bị từ chối ({source}); không lưu gì. Hãy thử đồng bộ lại sau."
                ),
                format!(
                    "Bulletin {sequence} from health authority {authority:08x} was rejected ({source}); nothing was stored. Try syncing again later."
                ),
            ),
            ClientError::Feed { authority, source } => Bilingual::new(
                format!(
                    "Bản tin của cơ quan y tế {authority:08x} bị từ chối ({source}): máy chủ hoặc bản sao có thể đang giả mạo hay chặn cập nhật. Không lưu gì; cảnh báo có thể chưa cập nhật."
                ),
                format!(
                    "The feed of health authority {authority:08x} was refused ({source}): the server or a mirror may be forging or withholding updates. Nothing was stored; alerts may be out of date."
                ),
            ),
            ClientError::Descriptor(e) => Bilingual::new(
                format!("Thông tin cơ quan y tế không hợp lệ ({e})."),
                format!("The health authority descriptor is invalid ({e})."),
            ),
            ClientError::ChainRollback {
                authority,
                have,
                latest,
            } => Bilingual::new(
                format!(
                    "Máy chủ của cơ quan {authority:08x} chỉ có bản tin đến số {latest}, nhưng máy này đã nhận số {have}: có thể máy chủ bị giả mạo."
                ),
                format!(
                    "The server of authority {authority:08x} lists bulletins only up to {latest}, but this phone already accepted {have}: the server may be forged."
                ),
            ),
            ClientError::UnknownAuthority(id) => Bilingual::new(
                format!("Chưa có cơ quan y tế {id:08x}. Thêm bằng: quet authority add <URL>"),
                format!(
                    "Health authority {id:08x} is not pinned. Add it with: quet authority add <URL>"
                ),
            ),
            ClientError::AmbiguousAuthority => Bilingual::new(
                "Có nhiều cơ quan y tế; hãy chọn bằng --authority <ID>.",
                "Several health authorities are pinned; choose one with --authority <ID>.",
            ),
            ClientError::NoAuthority => Bilingual::new(
                "Chưa có cơ quan y tế nào. Thêm bằng: quet authority add <URL>",
                "No health authority is pinned. Add one with: quet authority add <URL>",
            ),
            ClientError::NoSuchCheckIn(id) => Bilingual::new(
                format!("Không có lượt check-in số {id}."),
                format!("There is no check-in number {id}."),
            ),
            ClientError::NotCheckedIn => Bilingual::new(
                "Bạn không đang ở địa điểm nào (đã check-out hoặc đã tự check-out).",
                "You are not checked in anywhere (already checked out or auto checked out).",
            ),
            ClientError::AuthCodeInvalid => Bilingual::new(
                "Mã xác nhận sai, đã dùng hoặc đã hết hạn. Hãy kiểm tra lại hoặc xin mã mới từ cơ quan y tế.",
                "The authorization code is wrong, already used or expired. Check it or ask the health authority for a new one.",
            ),
            ClientError::AuthCodeTypo => Bilingual::new(
                "Mã xác nhận gõ sai (cần 16 ký tự dạng XXXX-XXXX-XXXX-XXXX). Hãy kiểm tra lại; chưa gửi gì.",
                "The authorization code has a typo (16 characters, XXXX-XXXX-XXXX-XXXX). Check it; nothing was sent.",
            ),
            ClientError::RateLimited { retry_after } => {
                let wait = retry_after.map_or(String::new(), |s| format!(" ({s} s)"));
                Bilingual::new(
                    format!("Quá nhiều lần thử; hãy đợi rồi thử lại{wait}."),
                    format!("Too many attempts; wait and try again{wait}."),
                )
            }
            ClientError::Busy => Bilingual::new(
                "Máy chủ đang bận; hãy thử lại sau ít phút.",
                "The server is busy; try again in a few minutes.",
            ),
            ClientError::Server {
                status,
                kind,
                message,
            } => Bilingual::new(
                format!("Máy chủ trả lời lỗi {status} {kind}: {message}"),
                format!("The server answered {status} {kind}: {message}"),
            ),
            ClientError::Network(m) => Bilingual::new(
                format!("Không kết nối được máy chủ ({m}). Kiểm tra mạng rồi thử lại."),
                format!("Cannot reach the server ({m}). Check the network and try again."),
            ),
            ClientError::Storage(m) => Bilingual::new(
                format!("Lỗi lưu trữ trên máy: {m}"),
                format!("Local storage error: {m}"),
            ),
            ClientError::LocalDecrypt => Bilingual::new(
                "Không giải mã được dữ liệu trên máy: khóa sai hoặc dữ liệu bị sửa.",
                "Local data does not decrypt: wrong key or tampered database.",
            ),
            ClientError::Image(m) => Bilingual::new(
                format!("Không đọc được mã QR từ ảnh: {m}"),
                format!("Cannot read a QR code from the image: {m}"),
            ),
            ClientError::InvalidSetting(m) => Bilingual::new(
                format!("Thiết lập không hợp lệ: {m}"),
                format!("Invalid setting: {m}"),
            ),
            ClientError::NothingToReport => Bilingual::new(
                "Không có lượt check-in nào trong khoảng thời gian cơ quan y tế yêu cầu; không gửi gì.",
                "No check-ins fall in the period the health authority asks for; nothing was sent.",
            ),
            ClientError::Cancelled => Bilingual::new("Đã hủy.", "Cancelled."),
            ClientError::Locked => Bilingual::new(
                "Nhật ký đang khóa: hãy mở khóa bằng mã PIN hoặc cụm mật khẩu.",
                "The diary is locked: unlock it with your PIN or passphrase.",
            ),
            ClientError::WrongPassphrase { failures, retry_at } => {
                let wait = retry_at.map_or_else(
                    || (String::new(), String::new()),
                    |t| {
                        (
                            format!(" Thử lại sau {}.", format_time(t)),
                            format!(" Try again after {}.", format_time(t)),
                        )
                    },
                );
                Bilingual::new(
                    format!("Mã PIN hoặc cụm mật khẩu sai (lần {failures}).{}", wait.0),
                    format!("Wrong PIN or passphrase (attempt {failures}).{}", wait.1),
                )
            }
            ClientError::UnlockThrottled { retry_at } => Bilingual::new(
                format!(
                    "Đã nhập sai quá nhiều lần; hãy thử lại sau {}.",
                    format_time(*retry_at)
                ),
                format!(
                    "Too many wrong attempts; try again after {}.",
                    format_time(*retry_at)
                ),
            ),
            ClientError::NotSetUp => Bilingual::new(
                "Chưa có nhật ký nào để mở khóa.",
                "There is no diary to unlock yet.",
            ),
            ClientError::Stale {
                authority,
                since: 0,
            } => Bilingual::new(
                format!(
                    "Chưa nhận được bản tin đã ký nào của cơ quan y tế {authority:08x}: cảnh báo có thể chưa cập nhật. Hãy đồng bộ khi có mạng."
                ),
                format!(
                    "No signed bulletin head from health authority {authority:08x} yet: alerts may be out of date. Sync when online."
                ),
            ),
            ClientError::Stale { authority, since } => Bilingual::new(
                format!(
                    "Cảnh báo có thể chưa cập nhật từ {} (cơ quan y tế {authority:08x}). Hãy đồng bộ lại khi có mạng.",
                    format_time(*since)
                ),
                format!(
                    "Alerts may be out of date since {} (health authority {authority:08x}). Sync again when online.",
                    format_time(*since)
                ),
            ),
            ClientError::MigrationNeeded => Bilingual::new(
                "Dữ liệu từ phiên bản cũ cần chuyển đổi: hãy đặt cụm mật khẩu (chạy quet ở terminal, hoặc dùng --passphrase-file).",
                "Data from an older version must be migrated: choose a passphrase (run quet in a terminal, or use --passphrase-file).",
            ),
        }
    }
}

fn explain_code(e: &ProtocolError, zone: &LocalZone) -> Bilingual {
    let format_time = |t: u64| zone.format(t);
    match e {
        ProtocolError::NotAQuetCode
        | ProtocolError::Truncated { .. }
        | ProtocolError::TrailingBytes { .. } => Bilingual::new(
            "Đây không phải mã check-in Quét.",
            "This is not a Quét check-in code.",
        ),
        ProtocolError::BadSignature { .. } => Bilingual::new(
            "Chữ ký của mã không hợp lệ: mã giả hoặc bị sửa. Đừng check-in bằng mã này.",
            "The code's signature does not verify: it is forged or altered. Do not check in with it.",
        ),
        ProtocolError::CodeNotFresh { code_time, now } => Bilingual::new(
            format!(
                "Mã đã hết hạn hoặc chưa tới giờ: mã lúc {}, đồng hồ máy {} (cho phép ±{} giây). Hãy quét mã trực tiếp trên màn hình và kiểm tra đồng hồ điện thoại.",
                format_time(code_time.0),
                format_time(now.0),
                SCREEN_FRESHNESS_SECS
            ),
            format!(
                "The code has expired or is not yet valid: code time {}, this device's clock {} (±{} s allowed). Scan the venue's screen directly and check the phone's clock.",
                format_time(code_time.0),
                format_time(now.0),
                SCREEN_FRESHNESS_SECS
            ),
        ),
        ProtocolError::PosterNotToday { code_time, now } => Bilingual::new(
            format!(
                "Mã dán tường này dành cho ngày {}, hôm nay là {}. Kiểm tra đồng hồ điện thoại.",
                format_time(code_time.0),
                format_time(now.0)
            ),
            format!(
                "This poster code is for {}, today is {}. Check the phone's clock.",
                format_time(code_time.0),
                format_time(now.0)
            ),
        ),
        ProtocolError::UnknownAuthority(id) => Bilingual::new(
            format!(
                "Mã thuộc cơ quan y tế {id} chưa được thêm vào máy. Thêm bằng: quet authority add <URL của cơ quan y tế>"
            ),
            format!(
                "The code belongs to health authority {id}, which is not pinned. Add it with: quet authority add <authority URL>"
            ),
        ),
        ProtocolError::UnknownKeyId { .. } => Bilingual::new(
            "Mã dùng khóa mà cơ quan y tế chưa công bố. Hãy cập nhật cơ quan y tế (quet authority add <URL>).",
            "The code uses a key the health authority has not published. Update the authority (quet authority add <URL>).",
        ),
        ProtocolError::VenueRevoked => Bilingual::new(
            "Cơ quan y tế đã thu hồi mã của địa điểm này (mã giả hoặc địa điểm không còn đăng ký). Không check-in; hãy báo nhân viên địa điểm.",
            "The health authority has revoked this venue's code (a forgery, or the venue is no longer registered). Not checked in; tell the venue's staff.",
        ),
        ProtocolError::UnsupportedVersion { version, .. } => Bilingual::new(
            format!("Mã dùng phiên bản {version} chưa hỗ trợ: hãy cập nhật ứng dụng."),
            format!("The code uses unsupported version {version}: update the app."),
        ),
        other => Bilingual::new(
            format!("Mã check-in không hợp lệ ({other})."),
            format!("Invalid check-in code ({other})."),
        ),
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.explain().en)
    }
}

impl std::error::Error for ClientError {}

/// Result with [`ClientError`].
pub type Result<T> = core::result::Result<T, ClientError>;
