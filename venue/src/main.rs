//! `quet-venue`: the venue tool's command line (create, tracing-sheet, poster,
//! display, assist). See `venue/README.md` for a walk-through.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use quet_protocol::time::UnixTime;
use quet_venue::display::{Clock, Display, Showing, SystemClock};
use quet_venue::venue::{EventWindow, NewVenue, Venue, parse_category, validate_base_url};
use quet_venue::{
    Result, VenueError, assist, fsutil, heartbeat, http, pdf, printables, qr, registration, timefmt,
};

/// Quét venue tool / Công cụ cho địa điểm: rotating QR display, weekly posters,
/// tracing sheet, assisted check-in.
#[derive(Parser)]
#[command(name = "quet-venue", version)]
struct Cli {
    /// Venue file / tệp địa điểm.
    #[arg(
        long,
        global = true,
        env = "QUET_VENUE_FILE",
        default_value = "venue.json"
    )]
    venue: PathBuf,
    /// Read the passphrase from this file (else QUET_VENUE_PASSPHRASE).
    #[arg(long, global = true)]
    passphrase_file: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a venue file / tạo địa điểm mới.
    Create(CreateArgs),
    /// Show the venue's settings (never the key) / xem thông tin.
    Info,
    /// Write the private tracing sheet (HTML or PDF) / in phiếu truy vết.
    TracingSheet {
        /// Output file (created, mode 0600; never overwritten).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        print: PrintArgs,
    },
    /// Write the weekly poster of seven daily codes (HTML or PDF) / in mã QR theo tuần.
    Poster {
        /// First day, YYYY-MM-DD (local day of the codes); default today.
        #[arg(long)]
        from: Option<String>,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        print: PrintArgs,
    },
    /// Show the rotating code / hiển thị mã QR luân phiên.
    Display(DisplayArgs),
    /// Assisted check-in for visitors without smartphones / khai báo hộ.
    #[command(subcommand)]
    Assist(AssistCmd),
    /// Print the QR versions of this venue's codes (base32 vs base64url).
    MeasureQr,
    /// Export a passphrase-protected display file (day keys, never the master) for
    /// a browser display / xuất tệp cho màn hình hiển thị.
    DisplayExport {
        /// Number of days (1..=31).
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// First day, YYYY-MM-DD (UTC); default today.
        #[arg(long)]
        from: Option<String>,
        /// Output file (created, mode 0600; never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// File holding the display file's passphrase (else QUET_DISPLAY_PASSPHRASE).
        #[arg(long)]
        display_passphrase_file: Option<PathBuf>,
    },
    /// Write the day-key sheet for a venue-initiated trace: the keys of the local
    /// dates asked only (at most 30 in Vietnam, none after today), never the master
    /// / phiếu khóa theo ngày cho truy vết.
    TraceKeys {
        /// First local date, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last local date, YYYY-MM-DD (today at the latest).
        #[arg(long)]
        to: String,
        /// Output file (created, mode 0600; never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Register this venue with the health authority / đăng ký địa điểm.
    Register(RegisterArgs),
    /// Ward office: register many venues from a CSV / đăng ký hàng loạt.
    Batch(BatchArgs),
}

#[derive(Args)]
struct RegisterArgs {
    /// District (quận/huyện), e.g. "Hoàn Kiếm". Required for a new registration.
    #[arg(long, required_unless_present = "status")]
    district: Option<String>,
    /// Server URL (default: the one pinned at create).
    #[arg(long)]
    server: Option<String>,
    /// Only fetch the current status and certificate.
    #[arg(long)]
    status: bool,
}

#[derive(Args)]
struct BatchArgs {
    /// CSV with a header: name,address,category,district[,event_start,event_end,max_stay].
    #[arg(long)]
    csv: PathBuf,
    /// Output directory (reuse it to resume an interrupted run).
    #[arg(long)]
    out: PathBuf,
    /// The health authority's server URL.
    #[arg(long)]
    authority: String,
    /// Use this descriptor file instead of fetching `{authority}/v1/descriptor`.
    #[arg(long)]
    descriptor_file: Option<PathBuf>,
    /// Expected authority fingerprint.
    #[arg(long)]
    fingerprint: Option<String>,
    /// File holding the ward officer's token (else QUET_WARD_TOKEN).
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Printout format: pdf (default) or html.
    #[arg(long, default_value = "pdf", value_parser = ["html", "pdf"])]
    format: String,
    /// PDF paper size: a4 or a5.
    #[arg(long, default_value = "a4")]
    paper: String,
    /// First poster day, YYYY-MM-DD; default today.
    #[arg(long)]
    from: Option<String>,
    /// Certificate validity to ask for, days (default: the server's, 365).
    #[arg(long)]
    validity_days: Option<u32>,
    /// Local time offset in minutes east of UTC (Vietnam: 420).
    #[arg(long, default_value_t = timefmt::VIETNAM_OFFSET_MINUTES, allow_hyphen_values = true)]
    utc_offset: i32,
}

#[derive(Args)]
struct CreateArgs {
    /// Venue name (≤ 64 bytes).
    #[arg(long)]
    name: String,
    /// Address (≤ 72 bytes).
    #[arg(long)]
    address: String,
    /// Category slug: office, factory, restaurant, bar-karaoke, gym, meeting,
    /// hospital, apartment, school, bus-station, public-transport, mall, market,
    /// wedding, funeral, tourist-site, religious-site, other.
    #[arg(long)]
    category: String,
    /// Maximum stay in minutes (default: the category's, or the event's length).
    #[arg(long)]
    max_stay: Option<u16>,
    /// Event start (weddings, conferences): YYYY-MM-DDTHH:MM local time.
    #[arg(long, requires = "event_end")]
    event_start: Option<String>,
    /// Event end.
    #[arg(long, requires = "event_start")]
    event_end: Option<String>,
    /// The health authority's server URL (its descriptor is fetched and pinned).
    #[arg(long)]
    authority: String,
    /// Use this descriptor file instead of fetching `{authority}/v1/descriptor`.
    #[arg(long)]
    descriptor_file: Option<PathBuf>,
    /// Expected authority fingerprint (compare with the one the authority publishes).
    #[arg(long)]
    fingerprint: Option<String>,
    /// Protect the master key with a passphrase (QUET_VENUE_PASSPHRASE or --passphrase-file).
    #[arg(long)]
    protect: bool,
    /// Local time offset in minutes east of UTC (Vietnam: 420).
    #[arg(long, default_value_t = timefmt::VIETNAM_OFFSET_MINUTES, allow_hyphen_values = true)]
    utc_offset: i32,
}

#[derive(Args)]
struct PrintArgs {
    /// Write a PDF instead of HTML (same as --format pdf; implied by an --out ending in .pdf).
    #[arg(long)]
    pdf: bool,
    /// Output format: html or pdf.
    #[arg(long, value_parser = ["html", "pdf"])]
    format: Option<String>,
    /// PDF paper size: a4 or a5.
    #[arg(long, default_value = "a4")]
    paper: String,
}

impl PrintArgs {
    fn wants_pdf(&self, out: &Path) -> bool {
        self.pdf
            || self.format.as_deref() == Some("pdf")
            || (self.format.is_none()
                && out
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("pdf")))
    }
}

#[derive(Args)]
struct DisplayArgs {
    /// Show codes from this display file (day keys and signing seed only, from
    /// `display-export`) instead of the venue file.
    #[arg(long, conflicts_with = "heartbeat")]
    display_file: Option<PathBuf>,
    /// File holding the display file's passphrase (else QUET_DISPLAY_PASSPHRASE).
    #[arg(long, requires = "display_file")]
    display_passphrase_file: Option<PathBuf>,
    /// Server whose signed bulletin head the codes' checkpoint comes from (default:
    /// the venue's server, or the authority's base URL for a display file).
    #[arg(long)]
    server: Option<String>,
    /// Never contact the server: codes carry no checkpoint.
    #[arg(long, conflicts_with = "server")]
    offline: bool,
    /// Address to serve the page on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Draw the code in this terminal instead of serving a page.
    #[arg(long)]
    terminal: bool,
    /// Opt in to the daily usage heartbeat (category, district, "displayed today").
    #[arg(long, requires = "district")]
    heartbeat: bool,
    /// District for the heartbeat (≤ 64 bytes), e.g. "Hoàn Kiếm".
    #[arg(long)]
    district: Option<String>,
}

#[derive(Subcommand)]
enum AssistCmd {
    /// Check a visitor in.
    Add {
        /// Visitor's name.
        #[arg(long)]
        name: String,
        /// Visitor's phone number.
        #[arg(long)]
        phone: String,
        /// Arrival: now | YYYY-MM-DDTHH:MM (local) | Unix seconds.
        #[arg(long, default_value = "now")]
        arrival: String,
        /// Departure (default: arrival + max stay).
        #[arg(long)]
        departure: Option<String>,
    },
    /// Record a departure.
    Checkout {
        /// Entry id (from `assist list`).
        id: u64,
        /// Departure time.
        #[arg(long, default_value = "now")]
        departure: String,
    },
    /// List stored assisted check-ins.
    List,
    /// Download the authority's bulletins and list the visitors to call.
    Match {
        /// Server URL (default: the one pinned at create).
        #[arg(long)]
        server: Option<String>,
    },
    /// Write the printable paper log template (HTML).
    PaperLog {
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
}

fn now() -> UnixTime {
    SystemClock.now()
}

fn passphrase(file: Option<&Path>) -> Result<Option<String>> {
    if let Some(p) = file {
        let s = std::fs::read_to_string(p)
            .map_err(|e| VenueError::io(format!("{}", p.display()), e))?;
        return Ok(Some(s.trim_end_matches(['\r', '\n']).to_owned()));
    }
    Ok(std::env::var("QUET_VENUE_PASSPHRASE").ok())
}

fn write_out(path: &Path, text: &str) -> Result<()> {
    fsutil::replace(path, text.as_bytes())
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("quet-venue: {e}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let pass = passphrase(cli.passphrase_file.as_deref())?;
    let open = || Venue::open(&cli.venue, pass.as_deref());
    match cli.cmd {
        Cmd::Create(a) => create(&cli.venue, a, pass.as_deref()),
        Cmd::Info => {
            let v = open()?;
            info(&v);
            Ok(())
        }
        Cmd::TracingSheet { out, print } => {
            let v = open()?;
            let paper = pdf::Paper::parse(&print.paper)?;
            if print.wants_pdf(&out) {
                let bytes = pdf::tracing_sheet_pdf(&v, now(), paper, &v.print_extras())?;
                fsutil::write_new(&out, &bytes)?;
            } else {
                let html = printables::tracing_sheet_html(&v, now())?;
                fsutil::write_new(&out, html.as_bytes())?;
            }
            println!(
                "Đã ghi phiếu truy vết (giữ kín!) / tracing sheet written (keep it private!): {}",
                out.display()
            );
            Ok(())
        }
        Cmd::Poster { from, out, print } => {
            let v = open()?;
            let paper = pdf::Paper::parse(&print.paper)?;
            let first = match from {
                Some(d) => timefmt::parse_date(&d)?,
                None => timefmt::local_day(now(), v.utc_offset_minutes())?,
            };
            if print.wants_pdf(&out) {
                let bytes = pdf::poster_pdf(&v, first, paper, &v.print_extras())?;
                fsutil::replace(&out, &bytes)?;
            } else {
                write_out(&out, &printables::poster_html(&v, first)?)?;
            }
            println!(
                "Đã ghi áp phích 7 ngày / weekly poster written: {}",
                out.display()
            );
            Ok(())
        }
        Cmd::Display(a) => match &a.display_file {
            Some(_) => display(None, a),
            None => display(Some(open()?), a),
        },
        Cmd::Register(a) => register(open()?, a),
        Cmd::TraceKeys { from, to, out } => {
            let v = open()?;
            let (from, to) = (timefmt::parse_date(&from)?, timefmt::parse_date(&to)?);
            let sheet = quet_venue::trace_keys::day_key_sheet(&v, from, to, now())?;
            let mut text = zeroize::Zeroizing::new(sheet.to_string());
            text.push('\n');
            fsutil::write_new(&out, text.as_bytes())?;
            let d = |d: quet_protocol::time::Day| {
                timefmt::format_date(timefmt::civil_from_days(i64::from(d.0)))
            };
            println!(
                "Đã ghi phiếu khóa {a} – {b} (giữ kín; chỉ đưa cho cán bộ điều tra) / day-key \
                 sheet for {a} – {b} written (keep it private; hand it only to the \
                 investigator): {}\nPhiếu không chứa khóa chính / it does not hold the master key.",
                out.display(),
                a = d(from),
                b = d(to),
            );
            Ok(())
        }
        Cmd::DisplayExport {
            days,
            from,
            out,
            display_passphrase_file,
        } => {
            let v = open()?;
            let pass = match &display_passphrase_file {
                Some(p) => passphrase(Some(p))?,
                None => std::env::var("QUET_DISPLAY_PASSPHRASE").ok(),
            }
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                VenueError::InvalidInput(
                    "cần mật khẩu cho tệp hiển thị / a display passphrase is needed: \
                     --display-passphrase-file FILE or QUET_DISPLAY_PASSPHRASE"
                        .into(),
                )
            })?;
            let first = match from {
                Some(d) => timefmt::parse_date(&d)?,
                None => now().day()?,
            };
            let df = v.display_file(first, days)?;
            let text = df
                .seal(&mut quet_venue::system_rng(), &pass)
                .map_err(|e| VenueError::InvalidInput(e.to_string()))?;
            fsutil::write_new(&out, text.as_bytes())?;
            println!(
                "Đã ghi tệp hiển thị {days} ngày từ {} / display file for {days} days from {} written: {}\n\
                 Tệp này không chứa khóa chính / it does not hold the master key.",
                timefmt::format_date(timefmt::civil_from_days(i64::from(first.0))),
                timefmt::format_date(timefmt::civil_from_days(i64::from(first.0))),
                out.display()
            );
            Ok(())
        }
        Cmd::Batch(a) => batch(a),
        Cmd::Assist(a) => assist_cmd(open()?, a),
        Cmd::MeasureQr => {
            let v = open()?;
            let (code, url) = printables::screen_code(&v, now())?;
            let (b32, b64) = qr::compare_encodings(code.as_bytes(), &url, v.code_base_url())?;
            println!(
                "code {} bytes; QR version at level M: base32 URL {b32}, base64url URL {b64}",
                code.as_bytes().len()
            );
            Ok(())
        }
    }
}

fn info(v: &Venue) {
    let i = v.info();
    println!("Tên / name:            {}", i.name);
    println!("Địa chỉ / address:     {}", i.address);
    println!(
        "Loại / category:       {} / {} ({})",
        i.category.label_vi(),
        i.category.label_en(),
        i.category.slug()
    );
    println!("Ở tối đa / max stay:   {} min", i.max_stay_minutes);
    if let Some(ev) = v.event() {
        let o = v.utc_offset_minutes();
        println!(
            "Sự kiện / event:       {} – {}",
            timefmt::format_local(UnixTime(ev.start), o),
            timefmt::format_local(UnixTime(ev.end), o)
        );
    }
    println!(
        "Cơ quan y tế / authority: {} ({})",
        v.descriptor().name,
        v.server_url()
    );
    println!(
        "Dấu vân tay / fingerprint: {}",
        v.descriptor().fingerprint()
    );
}

fn create(path: &Path, a: CreateArgs, pass: Option<&str>) -> Result<()> {
    // Check the cheap things first, so bad input never costs a network round trip.
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(VenueError::VenueFileExists(path.to_path_buf()));
    }
    let category = parse_category(&a.category)?;
    let server = validate_base_url(&a.authority)?;
    if a.protect && pass.is_none() {
        return Err(VenueError::PassphraseRequired);
    }
    let n = now();
    let event = match (&a.event_start, &a.event_end) {
        (Some(s), Some(e)) => Some(EventWindow {
            start: timefmt::parse_time(s, n, a.utc_offset)?.0,
            end: timefmt::parse_time(e, n, a.utc_offset)?.0,
        }),
        _ => None,
    };
    let descriptor = match &a.descriptor_file {
        Some(p) => fsutil::read_limited(p, 4096)?,
        None => http::fetch_descriptor(&server)?,
    };
    let mut new = NewVenue::new(a.name, a.address, category, server, descriptor);
    new.max_stay_minutes = a.max_stay;
    new.event = event;
    new.expected_fingerprint = a.fingerprint;
    new.utc_offset_minutes = a.utc_offset;
    let v = Venue::create(
        &mut quet_venue::system_rng(),
        path,
        &new,
        if a.protect { pass } else { None },
    )?;
    println!("Đã tạo địa điểm / venue created: {}", path.display());
    info(&v);
    println!(
        "So sánh dấu vân tay với cơ quan y tế / compare the fingerprint with the one the \
         authority publishes.\nTiếp theo / next: quet-venue tracing-sheet --out sheet.html"
    );
    Ok(())
}

fn register(mut v: Venue, a: RegisterArgs) -> Result<()> {
    let reg = if a.status {
        registration::refresh(&mut v)?
    } else {
        let server = a.server.unwrap_or_else(|| v.server_url().to_owned());
        registration::register(&mut v, &server, a.district.as_deref().unwrap_or_default())?
    };
    println!(
        "Đăng ký / registration #{} tại / at {}: {}",
        reg.id, reg.server_url, reg.status
    );
    match reg.status.as_str() {
        "approved" => println!(
            "{}\nIn lại áp phích để mã mang chứng nhận / print the posters again so the codes carry the certificate.",
            v.registration_line().unwrap_or_default()
        ),
        "pending" => println!(
            "Chờ cơ quan y tế duyệt; kiểm tra lại bằng / waiting for approval; check again with: quet-venue register --status"
        ),
        _ => {}
    }
    Ok(())
}

fn batch(a: BatchArgs) -> Result<()> {
    let server = validate_base_url(&a.authority)?;
    let token = match &a.token_file {
        Some(p) => passphrase(Some(p))?.unwrap_or_default(),
        None => std::env::var("QUET_WARD_TOKEN").unwrap_or_default(),
    };
    if token.trim().is_empty() {
        return Err(VenueError::InvalidInput(
            "cần mã cán bộ phường / a ward officer token is needed: --token-file FILE or QUET_WARD_TOKEN"
                .into(),
        ));
    }
    let descriptor = match &a.descriptor_file {
        Some(p) => fsutil::read_limited(p, 4096)?,
        None => http::fetch_descriptor(&server)?,
    };
    let first_day = match &a.from {
        Some(d) => timefmt::parse_date(d)?,
        None => timefmt::local_day(now(), a.utc_offset)?,
    };
    let started = std::time::Instant::now();
    let report = quet_venue::batch::run(&quet_venue::batch::BatchOptions {
        csv: a.csv,
        out: a.out,
        server_url: server,
        descriptor,
        expected_fingerprint: a.fingerprint,
        token: token.trim().to_owned(),
        pdf: a.format == "pdf",
        paper: pdf::Paper::parse(&a.paper)?,
        first_day,
        validity_days: a.validity_days,
        utc_offset_minutes: a.utc_offset,
    })?;
    for b in &report.bad_rows {
        eprintln!("dòng / line {}: {}", b.line, b.message);
    }
    let failed: Vec<_> = report.rows.iter().filter(|r| r.error.is_some()).collect();
    for r in &failed {
        eprintln!(
            "dòng / line {}: {}",
            r.line,
            r.error.as_deref().unwrap_or_default()
        );
    }
    let approved = report
        .rows
        .iter()
        .filter(|r| {
            r.error.is_none()
                && r.registration
                    .as_ref()
                    .is_some_and(|g| g.status == "approved")
        })
        .count();
    println!(
        "{approved} địa điểm đã đăng ký / venues registered ({} mới / new this run, {} tệp mới / new files);          {} dòng lỗi / rows with errors; {:.1} s\nKết quả / results: {}",
        report.registered_now,
        report.files_created,
        report.bad_rows.len() + failed.len(),
        started.elapsed().as_secs_f64(),
        report.results_csv.display()
    );
    if !report.bad_rows.is_empty() || !failed.is_empty() {
        std::process::exit(2);
    }
    Ok(())
}

fn start_heartbeat(v: &Venue, district: String) {
    let server = v.server_url().to_owned();
    let master = v.master().clone();
    let category = v.info().category;
    std::thread::spawn(move || {
        let mut sent = None;
        loop {
            let wait = match now().day() {
                Ok(day) if sent != Some(day) => {
                    match heartbeat::send_heartbeat(&server, &master, day, category, &district) {
                        Ok(()) => {
                            sent = Some(day);
                            300
                        }
                        Err(e) => {
                            eprintln!("heartbeat: {e} (thử lại sau / retrying later)");
                            600
                        }
                    }
                }
                _ => 300,
            };
            std::thread::sleep(Duration::from_secs(wait));
        }
    });
}

fn display_passphrase(file: Option<&Path>) -> Result<String> {
    match file {
        Some(p) => passphrase(Some(p))?,
        None => std::env::var("QUET_DISPLAY_PASSPHRASE").ok(),
    }
    .filter(|p| !p.is_empty())
    .ok_or_else(|| {
        VenueError::InvalidInput(
            "cần mật khẩu cho tệp hiển thị / a display passphrase is needed: \
             --display-passphrase-file FILE or QUET_DISPLAY_PASSPHRASE"
                .into(),
        )
    })
}

/// Keeps the codes' checkpoint current: the signed head every 10 minutes.
fn follow_head(d: Arc<Display>, server: String) {
    std::thread::spawn(move || {
        loop {
            let serial = d.descriptor_serial();
            let wait = match d.refresh_head(&server) {
                Ok(_) => {
                    if let Some(new) = d.descriptor_serial().filter(|n| Some(*n) != serial) {
                        eprintln!(
                            "Đã theo mô tả mới của cơ quan y tế (số {new}) / now following the \
                             authority's newer descriptor (serial {new})"
                        );
                    }
                    600
                }
                Err(e) => {
                    eprintln!(
                        "bulletin head: {e} (mã không có điểm kiểm tra mới / codes keep the last checkpoint; retrying)"
                    );
                    120
                }
            };
            std::thread::sleep(Duration::from_secs(wait));
        }
    });
}

fn display(v: Option<Venue>, a: DisplayArgs) -> Result<()> {
    let clock: Arc<dyn quet_venue::display::Clock> = Arc::new(SystemClock);
    let (d, server) = match (v, &a.display_file) {
        (Some(v), _) => {
            if a.heartbeat {
                let district =
                    heartbeat::check_district(a.district.as_deref().unwrap_or_default())?;
                start_heartbeat(&v, district);
            }
            let server = v.server_url().to_owned();
            (Display::new(&v, clock)?, server)
        }
        (None, Some(path)) => {
            let text = String::from_utf8(fsutil::read_limited(
                path,
                quet_venue::display_file::MAX_DISPLAY_FILE_LEN as u64,
            )?)
            .map_err(|_| VenueError::InvalidInput("display file is not UTF-8".into()))?;
            let pass = display_passphrase(a.display_passphrase_file.as_deref())?;
            let df = quet_venue::display_file::DisplayFile::open(&text, &pass)
                .map_err(|e| VenueError::InvalidInput(e.to_string()))?;
            let server = df.descriptor.base_url.clone();
            (Display::from_display_file(&df, clock)?, server)
        }
        (None, None) => return Err(VenueError::InvalidInput("--display-file".into())),
    };
    let d = Arc::new(d);
    if !a.offline {
        follow_head(d.clone(), a.server.clone().unwrap_or(server));
    }
    if a.terminal {
        return terminal(&d);
    }
    let rt = tokio::runtime::Runtime::new().map_err(|e| VenueError::io("tokio", e))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&a.listen)
            .await
            .map_err(|e| VenueError::io(format!("listen {}", a.listen), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| VenueError::io("listen", e))?;
        println!(
            "Mở trang này toàn màn hình / open full screen: http://{addr}/  (Ctrl-C để dừng / to stop)"
        );
        quet_venue::display::serve(listener, d)
            .await
            .map_err(|e| VenueError::io("serve", e))
    })
}

fn terminal(d: &Display) -> Result<()> {
    let mut last_slot = None;
    let mut drawn = String::new();
    loop {
        let t = now();
        let mut out = std::io::stdout().lock();
        match d.showing_at(t)? {
            Showing::Code(c) => {
                if last_slot != Some(c.slot) {
                    drawn = qr::terminal_of(c.url.as_bytes())?;
                    last_slot = Some(c.slot);
                }
                let _ = write!(out, "\x1b[2J\x1b[H{drawn}\n  {}\n", d.info().name);
                let _ = writeln!(
                    out,
                    "  Quét mã để khai báo khi vào / Scan to check in — mã mới sau {0} giây / new code in {0} s",
                    c.refresh_in(t)
                );
            }
            Showing::EventNotStarted(_) => {
                let _ = writeln!(
                    out,
                    "\x1b[2J\x1b[HSự kiện chưa bắt đầu / the event has not started"
                );
            }
            Showing::EventEnded(_) => {
                let _ = writeln!(
                    out,
                    "\x1b[2J\x1b[HSự kiện đã kết thúc / the event has ended"
                );
            }
            Showing::OutsideDays { .. } => {
                let _ = writeln!(
                    out,
                    "\x1b[2J\x1b[HTệp hiển thị đã hết ngày; hãy xuất tệp mới / \
                     the display file has no codes for today; export a new one"
                );
            }
        }
        let _ = out.flush();
        drop(out);
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn assist_cmd(mut v: Venue, a: AssistCmd) -> Result<()> {
    let n = now();
    let o = v.utc_offset_minutes();
    let mut log = assist::AssistLog::open(&v)?;
    match a {
        AssistCmd::Add {
            name,
            phone,
            arrival,
            departure,
        } => {
            let arrival = timefmt::parse_time(&arrival, n, o)?;
            let departure = departure
                .map(|d| timefmt::parse_time(&d, n, o))
                .transpose()?;
            let visit = assist::AssistedVisit {
                name,
                phone,
                arrival,
                departure,
            };
            let id = log.check_in(&v, &mut quet_venue::system_rng(), &visit, n)?;
            println!("Đã khai báo hộ / checked in: #{id}");
        }
        AssistCmd::Checkout { id, departure } => {
            let dep = timefmt::parse_time(&departure, n, o)?;
            let vis = log.check_out(&v, &mut quet_venue::system_rng(), id, dep)?;
            println!(
                "#{id} {}: ra lúc / left at {}",
                vis.name,
                timefmt::format_local(UnixTime(vis.departure), o)
            );
        }
        AssistCmd::List => {
            log.prune_and_save(n)?;
            println!("#  | Họ tên / name | SĐT / phone | Vào / arrival | Ra / departure");
            for (id, vis) in log.visitors()? {
                println!(
                    "{id} | {} | {} | {} | {}",
                    vis.name,
                    vis.phone,
                    timefmt::format_local(UnixTime(vis.arrival), o),
                    timefmt::format_local(UnixTime(vis.departure), o)
                );
            }
        }
        AssistCmd::Match { server } => {
            let server = server.unwrap_or_else(|| v.server_url().to_owned());
            let report = log.match_server(&mut v, &server, n)?;
            if let Some(serial) = report.descriptor_updated {
                println!(
                    "Tệp địa điểm đã cập nhật mô tả mới của cơ quan y tế (số {serial}) / the venue \
                     file now pins the authority's newer descriptor (serial {serial})."
                );
            }
            let fresh = timefmt::format_local(report.fresh_until, o);
            println!(
                "Đã kiểm tra {} bản tin (nguồn đã ký, cập nhật đến {fresh}) / checked {} \
                 bulletins (signed feed, current until {fresh}).",
                report.bulletins.len(),
                report.bulletins.len()
            );
            if report.exposures.is_empty() {
                println!("Không có ai cần liên hệ / nobody to call.");
            } else {
                println!(
                    "Cần liên hệ {} người / {} visitors to call:",
                    report.exposures.len(),
                    report.exposures.len()
                );
            }
            for x in &report.exposures {
                println!(
                    "#{} {} — {} (vào / arrival {}, ra / departure {})\n   [{} / {}] {}\n   {}",
                    x.id,
                    x.visitor.name,
                    x.visitor.phone,
                    timefmt::format_local(UnixTime(x.visitor.arrival), o),
                    timefmt::format_local(UnixTime(x.visitor.departure), o),
                    x.severity.label_vi(),
                    x.severity.label_en(),
                    x.message_vi,
                    x.message_en
                );
            }
        }
        AssistCmd::PaperLog { out } => {
            write_out(&out, &printables::paper_log_html(&v))?;
            println!("Đã ghi sổ giấy / paper log written: {}", out.display());
        }
    }
    Ok(())
}
