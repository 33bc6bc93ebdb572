//! `quet`: the Quét citizen client on the command line. See `quet --help` and
//! `client/README.md`.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use quet_client::text::{Bilingual, format_time};
use quet_client::{
    Alert, CheckIn, Client, ClientError, Lang, SqliteStore, SyncProgress, UnixTime, UreqTransport,
    exit,
};
use serde::Serialize;

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
  10 not found (check-in, authority, nothing to report) / không tìm thấy";

/// Quét: check in at venues privately and learn about exposures.
/// Quét: check-in địa điểm riêng tư và nhận cảnh báo phơi nhiễm.
#[derive(Parser, Debug)]
#[command(name = "quet", version, after_help = EXIT_CODES)]
struct Cli {
    /// Data directory (database and local key) / Thư mục dữ liệu.
    #[arg(long, env = "QUET_DATA", global = true)]
    data: Option<PathBuf>,
    /// Language: vi, en or both (default from LANG) / Ngôn ngữ.
    #[arg(long, global = true)]
    lang: Option<String>,
    /// Machine-readable JSON output / Xuất JSON cho script.
    #[arg(long, global = true)]
    json: bool,
    /// Override the clock (Unix seconds), for tests / Đặt giờ (kiểm thử).
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
    /// Check in from a code URL, its payload, or a PNG photo of the QR / Check-in.
    CheckIn {
        /// The code's URL or payload / URL hoặc nội dung mã.
        code: Option<String>,
        /// A PNG photo or screenshot of the QR / Ảnh PNG của mã QR.
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
    /// Your check-in diary (decrypted on this device) / Nhật ký check-in.
    Diary {
        #[command(subcommand)]
        action: Option<DiaryCmd>,
    },
    /// Download and verify bulletins, then match privately / Đồng bộ và đối chiếu.
    Sync,
    /// Show exposure alerts / Xem cảnh báo phơi nhiễm.
    Exposures,
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
                &format!("đang ở, tự check-out lúc {}", format_time(c.departure)),
                &format!("checked in, auto check-out at {}", format_time(c.departure)),
            )
        } else {
            self.lang.pick(
                &format!("rời đi {}", format_time(c.departure)),
                &format!("left {}", format_time(c.departure)),
            )
        };
        println!(
            "#{} {} ({}) — {}\n    {} | {}",
            c.id,
            c.venue_name,
            cat.replace('\n', " / ").replace("  ", ""),
            c.venue_address,
            format_time(c.arrival),
            state.replace("\n  ", " / ")
        );
    }

    fn alert(&self, a: &Alert) {
        let severity = self.lang.pick(&a.severity_vi, &a.severity_en);
        let message = self.lang.pick(&a.message_vi, &a.message_en);
        println!(
            "⚠ {} — {}\n    {} → {}\n    {}\n    {}",
            a.venue_name,
            a.venue_address,
            format_time(a.arrival),
            format_time(a.departure),
            severity,
            message
        );
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
    let ui = Ui {
        lang,
        json: cli.json,
    };
    match run(&cli, &ui) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let text = e.explain();
            if ui.json {
                ui.json(&serde_json::json!({
                    "error": e.kind(),
                    "exit_code": e.exit_code(),
                    "message_vi": text.vi,
                    "message_en": text.en,
                }));
            } else {
                eprintln!("{}", text.in_lang(ui.lang));
            }
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
        }
    }
}

fn run(cli: &Cli, ui: &Ui) -> Result<(), ClientError> {
    let now = UnixTime(cli.now.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }));
    let dir = cli.data.clone().unwrap_or_else(default_data_dir);
    let mut client: Client<SqliteStore> = Client::open_dir(&dir)?;
    let http = UreqTransport::default();
    match &cli.command {
        Command::Authority(AuthorityCmd::Add { url, file, yes }) => {
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
                    quet_client::qr::decode_png(&bytes)?
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
            let report = client.sync(&http, now, &mut bar)?;
            ui.json(&report);
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
                for a in &report.new_alerts {
                    ui.alert(a);
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
        }
        Command::Exposures => {
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
            let plan = client.report_preview(&http, *authority, code, now)?;
            if plan.check_ins.is_empty() {
                return Err(ClientError::NothingToReport);
            }
            if !ui.json {
                ui.say(
                    &format!(
                        "Cơ quan y tế yêu cầu các lượt check-in từ {}. Sẽ gửi {} lượt (mã hóa, chỉ cơ quan y tế mở được):",
                        format_time(plan.report_since),
                        plan.check_ins.len()
                    ),
                    &format!(
                        "The health authority asks for check-ins since {}. {} will be sent (sealed, only the authority can open them):",
                        format_time(plan.report_since),
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
