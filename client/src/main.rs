//! `quet`: the Quét citizen client on the command line. See `quet --help` and
//! `client/README.md`.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use quet_client::text::{Bilingual, LocalZone};
use quet_client::{
    Alert, AlertSummary, CheckIn, Client, ClientError, Lang, SqliteStore, SyncProgress, UnixTime,
    UreqTransport, exit,
};
use serde::Serialize;
use zeroize::Zeroizing;

const EXIT_CODES: &str = "\
Exit codes / Mã thoát:
  0  success / thành công
  1  internal error / lỗi nội bộ
  2  bad usage or setting / sai cú pháp hoặc thiết lập
  3  code refused (bad signature, expired, unknown authority, unsupported, not a Quét code) / mã bị từ chối
  4  network or server error / lỗi mạng hoặc máy chủ
  5  bulletin rejected (signature, chain, expiry); nothing stored / bản tin bị từ chối
  6  authorization code wrong, used or expired / mã xác nhận sai, đã dùng hoặc hết hạn
  7  rate limited or server busy: try later / quá nhiều yêu cầu hoặc máy chủ bận
  8  local storage error / lỗi lưu trữ
  9  cancelled by the user / người dùng hủy
  10 not found (check-in, authority, nothing to report) / không tìm thấy
  11 locked: passphrase needed, wrong, or too many attempts / nhật ký khóa: cần cụm mật khẩu
  12 sync: alerts may be out of date (no valid signed head) / cảnh báo có thể chưa cập nhật

Environment / Biến môi trường:
  QUET_DATA             data directory / thư mục dữ liệu
  QUET_PASSPHRASE_FILE  file whose first line is the passphrase (scripts) / tệp chứa cụm mật khẩu
  TZ                    time zone for times shown (default Asia/Ho_Chi_Minh) / múi giờ";

/// Quét: check in at venues privately and learn about exposures.
/// Quét: check-in địa điểm riêng tư và nhận cảnh báo phơi nhiễm.
#[derive(Parser, Debug)]
#[command(name = "quet", version, after_help = EXIT_CODES)]
struct Cli {
    /// Data directory (the database) / Thư mục dữ liệu.
    #[arg(long, env = "QUET_DATA", global = true)]
    data: Option<PathBuf>,
    /// Read the diary passphrase from the first line of FILE instead of asking /
    /// Đọc cụm mật khẩu từ tệp.
    #[arg(long, env = "QUET_PASSPHRASE_FILE", global = true)]
    passphrase_file: Option<PathBuf>,
    /// Language: vi, en or both (default from LANG) / Ngôn ngữ.
    #[arg(long, global = true)]
    lang: Option<String>,
    /// Machine-readable JSON output / Xuất JSON cho script.
    #[arg(long, global = true)]
    json: bool,
    /// Override the clock (Unix seconds): debug builds only, for tests.
    #[cfg(debug_assertions)]
    #[arg(long, env = "QUET_NOW", global = true, hide = true)]
    now: Option<u64>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Pinned health authorities / Cơ quan y tế đã ghim.
    #[command(subcommand)]
    Authority(AuthorityCmd),
    /// Check in from a code URL, its payload, or a photo of the QR / Check-in.
    CheckIn {
        /// The code's URL or payload / URL hoặc nội dung mã.
        code: Option<String>,
        /// A photo or screenshot of the QR (JPEG or PNG) / Ảnh JPEG hoặc PNG của mã QR.
        #[arg(long, conflicts_with = "code")]
        image: Option<PathBuf>,
    },
    /// Check out now / Check-out ngay.
    CheckOut {
        /// Check-in id (default: the current stay) / Số check-in.
        #[arg(long)]
        id: Option<u64>,
    },
    /// Extend or shorten the current stay to MINUTES after arrival / Đổi thời gian ở.
    Stay {
        /// Total stay in minutes from arrival (clipped to the venue's max) / Số phút.
        minutes: u64,
        /// Check-in id (default: the current stay).
        #[arg(long)]
        id: Option<u64>,
    },
    /// Your check-in diary (asks for the passphrase) / Nhật ký check-in.
    Diary {
        #[command(subcommand)]
        action: Option<DiaryCmd>,
    },
    /// Download and verify bulletins, then match privately / Đồng bộ và đối chiếu.
    Sync,
    /// Show exposure alerts (asks for the passphrase) / Xem cảnh báo phơi nhiễm.
    Exposures,
    /// Change the diary passphrase / Đổi cụm mật khẩu nhật ký.
    Passphrase,
    /// Report a positive test with the HA's authorization code / Báo cáo dương tính.
    Report {
        /// The authorization code (XXXX-XXXX-XXXX-XXXX) / Mã xác nhận.
        #[arg(long)]
        code: String,
        /// Authority id (hex), if several are pinned.
        #[arg(long, value_parser = parse_hex_id)]
        authority: Option<u32>,
        /// Do not ask for confirmation / Không hỏi xác nhận.
        #[arg(long)]
        yes: bool,
    },
    /// Delete everything older than the retention period / Xóa dữ liệu cũ.
    Purge {
        /// Set the retention period (10–21 days) first / Đặt số ngày lưu.
        #[arg(long)]
        retention_days: Option<u16>,
    },
}

#[derive(Subcommand, Debug)]
enum AuthorityCmd {
    /// Fetch URL/v1/descriptor, show its fingerprint, pin it after confirmation.
    Add {
        /// The authority's base URL / URL của cơ quan y tế.
        url: String,
        /// Read the signed descriptor from a file instead of the network.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// List pinned authorities.
    List,
    /// Unpin an authority (hex id).
    Remove {
        /// The authority id (hex).
        #[arg(value_parser = parse_hex_id)]
        id: u32,
    },
}

#[derive(Subcommand, Debug)]
enum DiaryCmd {
    /// List check-ins (default).
    List,
    /// Delete one check-in (token, envelope and diary entry).
    Delete {
        /// The check-in id.
        id: u64,
    },
    /// Delete every check-in.
    DeleteAll {
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

fn parse_hex_id(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s.trim_start_matches("0x"), 16).map_err(|e| e.to_string())
}

struct Ui {
    lang: Lang,
    json: bool,
    zone: LocalZone,
}

impl Ui {
    fn say(&self, vi: &str, en: &str) {
        if !self.json {
            println!("{}", self.lang.pick(vi, en));
        }
    }

    fn json<T: Serialize>(&self, value: &T) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into())
            );
        }
    }

    fn time(&self, unix: u64) -> String {
        self.zone.format(unix)
    }

    fn confirm(&self, vi: &str, en: &str) -> bool {
        eprint!("{} [y/N] ", self.lang.pick(vi, en));
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        if std::io::stdin().lock().read_line(&mut line).is_err() {
            return false;
        }
        matches!(
            line.trim().to_lowercase().as_str(),
            "y" | "yes" | "c" | "có" | "co"
        )
    }

    fn check_in(&self, c: &CheckIn) {
        let cat = self.lang.pick(&c.category_vi, &c.category_en);
        let state = if c.checked_in {
            self.lang.pick(
                &format!("đang ở, tự check-out lúc {}", self.time(c.departure)),
                &format!("checked in, auto check-out at {}", self.time(c.departure)),
            )
        } else {
            self.lang.pick(
                &format!("rời đi {}", self.time(c.departure)),
                &format!("left {}", self.time(c.departure)),
            )
        };
        let reported = if c.reported {
            format!(
                " | {}",
                self.lang
                    .pick("đã gửi báo cáo", "reported")
                    .replace("\n  ", " / ")
            )
        } else {
            String::new()
        };
        println!(
            "#{} {} ({}) — {}\n    {} | {}{}",
            c.id,
            c.venue_name,
            cat.replace('\n', " / ").replace("  ", ""),
            c.venue_address,
            self.time(c.arrival),
            state.replace("\n  ", " / "),
            reported
        );
        let registration = match &c.registered_with {
            Some(name) => self.lang.pick(
                &format!("đã đăng ký với {name}"),
                &format!("registered with {name}"),
            ),
            None => self.lang.pick(
                "⚠ địa điểm chưa đăng ký: cơ quan y tế chưa xác nhận mã này (có thể là mã tự làm)",
                "⚠ unregistered venue: no health authority vouches for this code (it may be self-made)",
            ),
        };
        println!("    {}", registration.replace("\n  ", " / "));
    }

    fn alarm(&self, a: &quet_client::ChainAlarm) {
        use quet_client::AlarmKind;
        let (vi, en) = match a.kind {
            AlarmKind::Fork | AlarmKind::ForkConfirmed => (
                format!(
                    "⚠ Cơ quan y tế {:08x} đã ký hai bản tin khác nhau cho số {}: có người đang thấy lịch sử khác. Hãy báo cơ quan y tế.",
                    a.authority, a.sequence
                ),
                format!(
                    "⚠ Health authority {:08x} signed two different bulletins numbered {}: someone is shown another history. Tell the health authority.",
                    a.authority, a.sequence
                ),
            ),
            AlarmKind::CheckpointConflict => (
                format!(
                    "⚠ Một địa điểm thấy bản tin số {} khác với điện thoại này; sẽ kiểm tra lại ở lần đồng bộ sau.",
                    a.sequence
                ),
                format!(
                    "⚠ A venue saw a different bulletin {} than this phone; the next sync re-checks it.",
                    a.sequence
                ),
            ),
            AlarmKind::VenueDisagrees => (
                format!(
                    "Một địa điểm thấy bản tin số {} khác, nhưng máy chủ gốc khớp với điện thoại này: màn hình của địa điểm có thể sai.",
                    a.sequence
                ),
                format!(
                    "A venue saw a different bulletin {}, but the origin matches this phone: the venue's display may be wrong.",
                    a.sequence
                ),
            ),
        };
        if !self.json {
            eprintln!("{}", self.lang.pick(&vi, &en));
        }
    }

    fn alert(&self, a: &Alert) {
        let severity = self.lang.pick(&a.severity_vi, &a.severity_en);
        let message = self.lang.pick(&a.message_vi, &a.message_en);
        println!(
            "⚠ {} — {}\n    {} → {}\n    {}\n    {}",
            a.venue_name,
            a.venue_address,
            self.time(a.arrival),
            self.time(a.departure),
            severity,
            message
        );
    }

    fn alert_summary(&self, a: &AlertSummary) {
        let severity = self.lang.pick(&a.severity_vi, &a.severity_en);
        println!(
            "⚠ {}\n    {}",
            severity,
            self.lang.pick(
                &format!(
                    "phát hiện lúc {}; mở khóa để xem nơi và giờ: quet exposures",
                    self.time(a.found_at)
                ),
                &format!(
                    "found {}; unlock to see where and when: quet exposures",
                    self.time(a.found_at)
                )
            )
        );
    }

    fn error(&self, e: &ClientError) {
        let text = e.explain_in(&self.zone);
        if self.json {
            self.json(&serde_json::json!({
                "error": e.kind(),
                "exit_code": e.exit_code(),
                "message_vi": text.vi,
                "message_en": text.en,
            }));
        } else {
            eprintln!("{}", text.in_lang(self.lang));
        }
    }
}

/// Where the passphrase comes from: a file (scripts, tests) or the terminal.
struct Secrets {
    file: Option<PathBuf>,
}

impl Secrets {
    fn in_file(&self) -> Result<Option<Zeroizing<String>>, ClientError> {
        let Some(path) = &self.file else {
            return Ok(None);
        };
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            ClientError::InvalidSetting(format!("passphrase file {}: {e}", path.display()))
        })?);
        let first = text.lines().next().unwrap_or("");
        Ok(Some(Zeroizing::new(first.to_string())))
    }

    fn interactive() -> bool {
        std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }

    fn prompt(ui: &Ui, vi: &str, en: &str) -> Result<Zeroizing<String>, ClientError> {
        let p = rpassword::prompt_password(format!("{}: ", ui.lang.pick(vi, en)))
            .map_err(|e| ClientError::InvalidSetting(format!("reading the passphrase: {e}")))?;
        Ok(Zeroizing::new(p))
    }

    /// The passphrase to unlock with, or `None` when there is no way to ask.
    fn existing(&self, ui: &Ui) -> Result<Option<Zeroizing<String>>, ClientError> {
        if let Some(p) = self.in_file()? {
            return Ok(Some(p));
        }
        if Self::interactive() {
            return Self::prompt(ui, "Cụm mật khẩu nhật ký", "Diary passphrase").map(Some);
        }
        Ok(None)
    }

    /// A new passphrase (asked twice on a terminal).
    fn new_one(&self, ui: &Ui) -> Result<Zeroizing<String>, ClientError> {
        if let Some(p) = self.in_file()? {
            return Ok(p);
        }
        if !Self::interactive() {
            return Err(ClientError::InvalidSetting(
                "choose a diary passphrase: run quet in a terminal, or give --passphrase-file / QUET_PASSPHRASE_FILE".into(),
            ));
        }
        ui.say(
            "Chọn cụm mật khẩu bảo vệ nhật ký (tên, địa chỉ, giờ). Check-in không cần nó; xem nhật ký và cảnh báo thì cần.",
            "Choose a passphrase to protect the diary (names, addresses, times). Checking in never needs it; reading the diary and alerts does.",
        );
        let a = Self::prompt(ui, "Cụm mật khẩu mới", "New passphrase")?;
        let b = Self::prompt(ui, "Nhập lại", "Repeat it")?;
        if *a != *b {
            return Err(ClientError::InvalidSetting(
                "the two passphrases differ".into(),
            ));
        }
        Ok(a)
    }
}

fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(x).join("quet");
    }
    if let Some(h) = std::env::var_os("HOME") {
        return PathBuf::from(h).join(".local/share/quet");
    }
    PathBuf::from(".quet")
}

fn progress_bar(p: SyncProgress) {
    if !std::io::stderr().is_terminal() && p.done != p.total {
        return;
    }
    let width = 30u64;
    let filled = (p.done * width).checked_div(p.total).unwrap_or(width);
    let bar: String = (0..width)
        .map(|i| if i < filled { '#' } else { '-' })
        .collect();
    eprint!(
        "\r[{bar}] {}/{} bulletins {:08x}",
        p.done, p.total, p.authority
    );
    if p.done == p.total {
        eprintln!();
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE as u8 } else { 0 });
        }
    };
    let lang = cli
        .lang
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or_else(|| Lang::from_locale(std::env::var("LANG").ok().as_deref()));
    let (zone, tz_problem) = LocalZone::from_env();
    let ui = Ui {
        lang,
        json: cli.json,
        zone,
    };
    if let Some(problem) = tz_problem {
        eprintln!(
            "{}",
            ui.lang.pick(
                &format!("Không hiểu múi giờ ({problem}); dùng giờ Việt Nam."),
                &format!("Unknown time zone ({problem}); using Vietnam time.")
            )
        );
    }
    match run(&cli, &ui) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            ui.error(&e);
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
        }
    }
}

/// The clock: the system's, or `--now`/`QUET_NOW` in debug builds (tests).
fn clock(cli: &Cli) -> UnixTime {
    #[cfg(debug_assertions)]
    if let Some(now) = cli.now {
        return UnixTime(now);
    }
    let _ = cli;
    UnixTime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
}

/// Opens the data directory: migrates a legacy one (asks for a new passphrase
/// once), and makes sure the diary key is protected by a passphrase before any
/// command that stores a check-in (so the CLI never keeps it unprotected).
fn open_client(
    dir: &std::path::Path,
    cli: &Cli,
    ui: &Ui,
    secrets: &Secrets,
) -> Result<Client<SqliteStore>, ClientError> {
    let mut client = match Client::open_dir(dir) {
        Err(ClientError::MigrationNeeded) => {
            ui.say(
                "Dữ liệu từ phiên bản cũ: khóa nằm cạnh cơ sở dữ liệu. Chuyển sang nhật ký khóa bằng cụm mật khẩu.",
                "Data from an older version keeps its key next to the database. Moving to a diary locked by a passphrase.",
            );
            let pass = secrets.new_one(ui)?;
            let (client, n) = Client::migrate_dir(dir, pass.as_bytes())?;
            ui.say(
                &format!("Đã chuyển {n} lượt check-in; tệp khóa cũ đã bị xóa."),
                &format!("Migrated {n} check-ins; the old key file was erased."),
            );
            client
        }
        other => other?,
    };
    let needs_setup = !matches!(cli.command, Command::Authority(_));
    let p = client.protection()?;
    if needs_setup && (!p.set_up || p.unprotected) {
        let pass = secrets.new_one(ui)?;
        client.set_passphrase(pass.as_bytes())?;
    }
    client.lock();
    Ok(client)
}

/// Unlocks the diary with the passphrase from the file or the terminal.
fn unlock(
    client: &mut Client<SqliteStore>,
    ui: &Ui,
    secrets: &Secrets,
    now: UnixTime,
) -> Result<(), ClientError> {
    let pass = secrets.existing(ui)?.ok_or(ClientError::Locked)?;
    client.unlock_with_passphrase(pass.as_bytes(), now)
}

fn run(cli: &Cli, ui: &Ui) -> Result<(), ClientError> {
    let now = clock(cli);
    let dir = cli.data.clone().unwrap_or_else(default_data_dir);
    let secrets = Secrets {
        file: cli.passphrase_file.clone(),
    };
    let mut client = open_client(&dir, cli, ui, &secrets)?;
    let http = UreqTransport::default();
    match &cli.command {
        Command::Authority(AuthorityCmd::Add { url, file, yes }) => {
            if !quet_protocol::authority::base_url_allowed(url) {
                return Err(ClientError::InvalidSetting(format!(
                    "{url}: an authority is reached over https:// (http:// only on this machine's loopback)"
                )));
            }
            let bytes = match file {
                Some(f) => std::fs::read(f).map_err(|e| ClientError::Storage(e.to_string()))?,
                None => {
                    let resp = quet_client::Transport::get(
                        &http,
                        &quet_client::transport::join(url, "/v1/descriptor"),
                        64 * 1024,
                    )?;
                    if resp.status != 200 {
                        return Err(ClientError::Server {
                            status: resp.status,
                            kind: "descriptor".into(),
                            message: String::from_utf8_lossy(&resp.body)
                                .chars()
                                .take(200)
                                .collect(),
                        });
                    }
                    resp.body
                }
            };
            let d = Client::<SqliteStore>::inspect_descriptor(&bytes)?;
            let fp = d.fingerprint();
            if !ui.json {
                println!("{} ({:08x})\n{}\n", d.name, d.id.0, d.base_url);
                println!(
                    "{}",
                    ui.lang
                        .pick(&format!("Dấu vân tay: {fp}"), &format!("Fingerprint: {fp}"))
                );
            }
            if !yes
                && !ui.confirm(
                    "So sánh dấu vân tay với nguồn chính thức. Ghim cơ quan này?",
                    "Compare the fingerprint with an official source. Pin this authority?",
                )
            {
                return Err(ClientError::Cancelled);
            }
            let d = client.pin_authority(&bytes)?;
            ui.json(&serde_json::json!({"id": format!("{:08x}", d.id.0), "name": d.name, "base_url": d.base_url, "fingerprint": fp}));
            ui.say("Đã ghim.", "Pinned.");
        }
        Command::Authority(AuthorityCmd::List) => {
            let all = client.authorities()?;
            let list: Vec<_> = all
                .iter()
                .map(|d| serde_json::json!({"id": format!("{:08x}", d.id.0), "name": d.name, "base_url": d.base_url, "fingerprint": d.fingerprint()}))
                .collect();
            ui.json(&list);
            if !ui.json {
                if all.is_empty() {
                    ui.say("Chưa ghim cơ quan y tế nào.", "No authority pinned.");
                }
                for d in &all {
                    println!(
                        "{:08x}  {}  {}\n          {}",
                        d.id.0,
                        d.name,
                        d.base_url,
                        d.fingerprint()
                    );
                }
            }
        }
        Command::Authority(AuthorityCmd::Remove { id }) => {
            client.remove_authority(*id)?;
            ui.json(&serde_json::json!({"removed": format!("{id:08x}")}));
            ui.say("Đã bỏ ghim.", "Unpinned.");
        }
        Command::CheckIn { code, image } => {
            let text = match (code, image) {
                (Some(c), _) => c.clone(),
                (None, Some(path)) => {
                    let bytes =
                        std::fs::read(path).map_err(|e| ClientError::Image(e.to_string()))?;
                    quet_client::qr::decode_image(&bytes)?
                }
                (None, None) => {
                    return Err(ClientError::InvalidSetting(
                        "give the code URL/payload or --image FILE".into(),
                    ));
                }
            };
            let c = client.check_in(&text, now)?;
            ui.json(&c);
            if !ui.json {
                ui.say("Đã check-in:", "Checked in:");
                ui.check_in(&c);
                if c.chain_check == Some(quet_client::CheckpointCheck::Conflict) {
                    ui.say(
                        "⚠ Màn hình của địa điểm thấy một chuỗi bản tin khác với điện thoại này (có thể bị chia rẽ thông tin). Check-in vẫn được lưu; lần đồng bộ sau sẽ kiểm tra lại qua đường khác.",
                        "⚠ The venue's display saw a different bulletin history than this phone (a possible split view). The check-in is stored; the next sync re-checks over another path.",
                    );
                }
            }
        }
        Command::CheckOut { id } => {
            let c = client.check_out(*id, now)?;
            ui.json(&c);
            if !ui.json {
                ui.say("Đã check-out:", "Checked out:");
                ui.check_in(&c);
            }
        }
        Command::Stay { minutes, id } => {
            let c = client.set_stay(*id, *minutes, now)?;
            ui.json(&c);
            if !ui.json {
                ui.check_in(&c);
            }
        }
        Command::Diary { action } => match action {
            None | Some(DiaryCmd::List) => {
                unlock(&mut client, ui, &secrets, now)?;
                let all = client.diary(now)?;
                ui.json(&all);
                if !ui.json {
                    if all.is_empty() {
                        ui.say("Nhật ký trống.", "The diary is empty.");
                    }
                    for c in &all {
                        ui.check_in(c);
                    }
                }
            }
            Some(DiaryCmd::Delete { id }) => {
                client.delete_check_in(*id)?;
                ui.json(&serde_json::json!({"deleted": id}));
                ui.say("Đã xóa.", "Deleted.");
            }
            Some(DiaryCmd::DeleteAll { yes }) => {
                if !yes && !ui.confirm("Xóa toàn bộ nhật ký?", "Delete the whole diary?") {
                    return Err(ClientError::Cancelled);
                }
                client.delete_all()?;
                ui.json(&serde_json::json!({"deleted": "all"}));
                ui.say("Đã xóa tất cả.", "Deleted everything.");
            }
        },
        Command::Sync => {
            let mut bar = |p: SyncProgress| {
                if !ui.json {
                    progress_bar(p);
                }
            };
            let result = client.sync(&http, now, &mut bar);
            let status = client.feed_status(now)?;
            let stale = status
                .iter()
                .find_map(|f| f.stale_since.map(|since| (f.authority, since)));
            for f in &status {
                for a in &f.alarms {
                    ui.alarm(a);
                }
            }
            let report = match result {
                Ok(report) => report,
                Err(e) => {
                    if let Some((authority, since)) = stale {
                        ui.error(&ClientError::Stale { authority, since });
                    }
                    return Err(e);
                }
            };
            ui.json(&serde_json::json!({"report": report, "feeds": status}));
            if !ui.json {
                for a in &report.authorities {
                    println!(
                        "{}",
                        ui.lang.pick(
                            &format!(
                                "{:08x}: nhận {} bản tin, đến số {}",
                                a.authority, a.accepted, a.sequence
                            ),
                            &format!(
                                "{:08x}: accepted {} bulletins, now at {}",
                                a.authority, a.accepted, a.sequence
                            )
                        )
                    );
                }
                if report.new_alerts.is_empty() {
                    ui.say("Không có cảnh báo mới.", "No new alerts.");
                }
                // Details only with the passphrase file; never a prompt in sync.
                let details = match secrets.in_file()? {
                    Some(pass) if !report.new_alerts.is_empty() => {
                        client.unlock_with_passphrase(pass.as_bytes(), now)?;
                        client.alerts()?
                    }
                    _ => Vec::new(),
                };
                for a in &report.new_alerts {
                    match details
                        .iter()
                        .find(|d| d.check_in == a.check_in && d.notice == a.notice)
                    {
                        Some(d) => ui.alert(d),
                        None => ui.alert_summary(a),
                    }
                }
                if report.withdrawn > 0 {
                    ui.say(
                        &format!(
                            "{} cảnh báo đã được cơ quan y tế rút lại.",
                            report.withdrawn
                        ),
                        &format!(
                            "{} alerts were withdrawn by the health authority.",
                            report.withdrawn
                        ),
                    );
                }
            }
            if let Some((authority, since)) = stale {
                return Err(ClientError::Stale { authority, since });
            }
        }
        Command::Passphrase => {
            unlock(&mut client, ui, &secrets, now)?;
            let pass = Secrets { file: None }.new_one(ui)?;
            client.set_passphrase(pass.as_bytes())?;
            ui.json(&serde_json::json!({"passphrase": "changed"}));
            ui.say("Đã đổi cụm mật khẩu.", "Passphrase changed.");
        }
        Command::Exposures => {
            unlock(&mut client, ui, &secrets, now)?;
            let all = client.alerts()?;
            ui.json(&all);
            if !ui.json {
                if all.is_empty() {
                    ui.say("Không có cảnh báo phơi nhiễm.", "No exposure alerts.");
                }
                for a in &all {
                    ui.alert(a);
                }
            }
        }
        Command::Report {
            code,
            authority,
            yes,
        } => {
            unlock(&mut client, ui, &secrets, now)?;
            let plan = client.report_preview(&http, *authority, code, now)?;
            if plan.check_ins.is_empty() {
                return Err(ClientError::NothingToReport);
            }
            if !ui.json {
                ui.say(
                    &format!(
                        "Cơ quan y tế yêu cầu các lượt check-in từ {}. Sẽ gửi {} lượt (mã hóa, chỉ cơ quan y tế mở được):",
                        ui.time(plan.report_since),
                        plan.check_ins.len()
                    ),
                    &format!(
                        "The health authority asks for check-ins since {}. {} will be sent (sealed, only the authority can open them):",
                        ui.time(plan.report_since),
                        plan.check_ins.len()
                    ),
                );
                for c in &plan.check_ins {
                    ui.check_in(c);
                }
            }
            if !yes && !ui.confirm("Gửi báo cáo?", "Send the report?") {
                return Err(ClientError::Cancelled);
            }
            let receipt = client.report_submit(&http, &plan)?;
            ui.json(&serde_json::json!({"plan": plan, "receipt": receipt}));
            ui.say(
                &format!(
                    "Đã gửi {} lượt check-in. Biên nhận: {}",
                    receipt.sent, receipt.receipt
                ),
                &format!(
                    "Sent {} check-ins. Receipt: {}",
                    receipt.sent, receipt.receipt
                ),
            );
        }
        Command::Purge { retention_days } => {
            if let Some(d) = retention_days {
                client.set_retention_days(*d)?;
            }
            let n = client.purge(now)?;
            let days = client.retention_days()?;
            ui.json(&serde_json::json!({"purged": n, "retention_days": days}));
            let msg = Bilingual::new(
                format!("Đã xóa {n} lượt check-in cũ hơn {days} ngày."),
                format!("Purged {n} check-ins older than {days} days."),
            );
            ui.say(&msg.vi, &msg.en);
        }
    }
    Ok(())
}
