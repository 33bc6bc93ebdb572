//! Bulk registration for a ward office: one CSV row per venue in, and per venue a
//! passphrase-protected venue file, a printable poster and a private tracing sheet
//! out, plus `results.csv`.
//!
//! **Resumable.** Every row has a stable key (a hash of its normalized name,
//! address and district), which names its files and is its idempotency key at the
//! server. Each step writes atomically (temporary file + link/rename), so a run
//! killed at any point leaves only whole files, and a rerun:
//! - reopens a venue file that exists instead of making a second venue;
//! - resubmits venues whose registration is not stored yet (the server answers
//!   with the existing registration: nothing is registered twice);
//! - prints only what is missing.
//!
//! Each venue file's passphrase is derived from a random batch secret kept in the
//! output directory (`.batch-secret`, 0600) and the row key, so a rerun can open
//! the files it made; it is printed on the venue's private tracing sheet. The
//! output directory therefore holds master keys (tracing sheets) and must be kept
//! like them.
//!
//! Input columns (header row required, any order, case-insensitive): `name`,
//! `address`, `category`, `district`, and optionally `event_start`, `event_end`
//! (`YYYY-MM-DDTHH:MM`, local time) and `max_stay` (minutes). Bad rows (missing
//! fields, over-long names or addresses, unknown category, bad times, a duplicate
//! of an earlier row) are reported with their line numbers; every other row is
//! processed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use data_encoding::HEXLOWER;
use hmac::{KeyInit, Mac};
use quet_protocol::authority::AuthorityDescriptor;
use quet_protocol::category::Category;
use quet_protocol::code::{MAX_ADDRESS_LEN, MAX_NAME_LEN, MAX_STAY_LIMIT_MINUTES};
use quet_protocol::time::{Day, UnixTime};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Result, VenueError};
use crate::heartbeat::MAX_DISTRICT_LEN;
use crate::pdf::{self, Paper, PrintExtras};
use crate::registration::{self, BATCH_CHUNK, BatchEntry};
use crate::venue::{EventWindow, NewVenue, Protection, Registration, Venue};
use crate::{fsutil, printables, timefmt};

/// What `quet-venue batch` needs.
#[derive(Clone, Debug)]
pub struct BatchOptions {
    /// The input CSV.
    pub csv: PathBuf,
    /// The output directory (created if missing; reused by a rerun).
    pub out: PathBuf,
    /// The authority's server URL.
    pub server_url: String,
    /// Its signed descriptor.
    pub descriptor: Vec<u8>,
    /// Expected fingerprint, if given.
    pub expected_fingerprint: Option<String>,
    /// Ward officer (or staff) token.
    pub token: String,
    /// PDF (true) or HTML printouts.
    pub pdf: bool,
    /// PDF paper size.
    pub paper: Paper,
    /// First day of the posters.
    pub first_day: Day,
    /// Certificate validity to ask for, days.
    pub validity_days: Option<u32>,
    /// Local offset, minutes east of UTC.
    pub utc_offset_minutes: i32,
}

/// A row that was refused, with its line in the CSV (1 = the header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// Line number in the CSV file.
    pub line: u64,
    /// What is wrong (Vietnamese / English).
    pub message: String,
}

/// A valid row.
#[derive(Clone, Debug)]
struct Row {
    line: u64,
    key: String,
    name: String,
    address: String,
    category: Category,
    district: String,
    event: Option<EventWindow>,
    max_stay: Option<u16>,
}

/// What happened to one valid row.
#[derive(Clone, Debug)]
pub struct RowResult {
    /// Line in the CSV.
    pub line: u64,
    /// Stable row key (file names, idempotency key).
    pub key: String,
    /// Venue name.
    pub name: String,
    /// District.
    pub district: String,
    /// Registration, once stored.
    pub registration: Option<Registration>,
    /// The venue file.
    pub venue_file: PathBuf,
    /// The poster, once printed.
    pub poster: Option<PathBuf>,
    /// The tracing sheet, once printed.
    pub sheet: Option<PathBuf>,
    /// The error, if this row failed after validation (server refusal...).
    pub error: Option<String>,
}

/// The outcome of a run.
#[derive(Clone, Debug, Default)]
pub struct BatchReport {
    /// Rows refused before anything was made.
    pub bad_rows: Vec<RowError>,
    /// Valid rows.
    pub rows: Vec<RowResult>,
    /// Venue files made by this run (the rest existed).
    pub files_created: usize,
    /// Registrations the server created during this run.
    pub registered_now: usize,
    /// `results.csv`.
    pub results_csv: PathBuf,
}

fn norm(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The stable key of a venue row: 16 hex digits of SHA-256 over its normalized
/// name, address and district.
pub fn row_key(name: &str, address: &str, district: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"quet-venue/v1/batch-row");
    for part in [name, address, district] {
        h.update(norm(part).as_bytes());
        h.update([0u8]);
    }
    HEXLOWER.encode(h.finalize().get(..8).unwrap_or_default())
}

/// Reads and validates the CSV: valid rows and bad rows with their line numbers.
fn read_rows(path: &Path, offset: i32) -> Result<(Vec<Row>, Vec<RowError>)> {
    let data = fsutil::read_limited(path, 64 * 1024 * 1024)?;
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(data.as_slice());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| VenueError::InvalidInput(format!("CSV header: {e}")))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(c_name), Some(c_addr), Some(c_cat), Some(c_dist)) = (
        col("name"),
        col("address"),
        col("category"),
        col("district"),
    ) else {
        return Err(VenueError::InvalidInput(
            "CSV: dòng đầu phải có các cột / the header must name the columns \
             name,address,category,district[,event_start,event_end,max_stay]"
                .into(),
        ));
    };
    let (c_start, c_end, c_stay) = (col("event_start"), col("event_end"), col("max_stay"));
    let now = UnixTime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    );
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                bad.push(RowError {
                    line,
                    message: format!("CSV: {e}"),
                });
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        if rec.iter().all(str::is_empty) {
            continue;
        }
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).unwrap_or("").to_owned();
        let (name, address, cat, district) = (
            get(Some(c_name)),
            get(Some(c_addr)),
            get(Some(c_cat)),
            get(Some(c_dist)),
        );
        let fail = |m: String| RowError { line, message: m };
        let missing: Vec<&str> = [
            ("name", &name),
            ("address", &address),
            ("category", &cat),
            ("district", &district),
        ]
        .iter()
        .filter(|(_, v)| v.is_empty())
        .map(|(k, _)| *k)
        .collect();
        if !missing.is_empty() {
            bad.push(fail(format!("thiếu / missing: {}", missing.join(", "))));
            continue;
        }
        if name.len() > MAX_NAME_LEN {
            bad.push(fail(format!(
                "tên dài {} byte, tối đa {MAX_NAME_LEN} / name is {} bytes, at most {MAX_NAME_LEN}",
                name.len(),
                name.len()
            )));
            continue;
        }
        if address.len() > MAX_ADDRESS_LEN {
            bad.push(fail(format!(
                "địa chỉ dài {} byte, tối đa {MAX_ADDRESS_LEN} / address is {} bytes, at most {MAX_ADDRESS_LEN}",
                address.len(),
                address.len()
            )));
            continue;
        }
        let Some(category) = Category::from_slug(&cat.to_ascii_lowercase()) else {
            bad.push(fail(format!(
                "loại không hợp lệ / unknown category {cat:?}"
            )));
            continue;
        };
        if district.len() > MAX_DISTRICT_LEN || district.chars().any(char::is_control) {
            bad.push(fail(format!(
                "quận/huyện / district: at most {MAX_DISTRICT_LEN} bytes"
            )));
            continue;
        }
        let (s, e) = (get(c_start), get(c_end));
        let event = match (s.is_empty(), e.is_empty()) {
            (true, true) => None,
            (false, false) => {
                match (
                    timefmt::parse_time(&s, now, offset),
                    timefmt::parse_time(&e, now, offset),
                ) {
                    (Ok(a), Ok(b)) if a.0 < b.0 => Some(EventWindow {
                        start: a.0,
                        end: b.0,
                    }),
                    _ => {
                        bad.push(fail(format!(
                            "thời gian sự kiện / event window {s:?} – {e:?} (YYYY-MM-DDTHH:MM, start < end)"
                        )));
                        continue;
                    }
                }
            }
            _ => {
                bad.push(fail(
                    "event_start và event_end đi cùng nhau / event_start and event_end go together"
                        .into(),
                ));
                continue;
            }
        };
        let stay = get(c_stay);
        let max_stay = if stay.is_empty() {
            None
        } else {
            match stay.parse::<u16>() {
                Ok(m) if (1..=MAX_STAY_LIMIT_MINUTES).contains(&m) => Some(m),
                _ => {
                    bad.push(fail(format!("max_stay {stay:?} (1..=1440)")));
                    continue;
                }
            }
        };
        let key = row_key(&name, &address, &district);
        if let Some(first) = seen.get(&key) {
            bad.push(fail(format!(
                "trùng với dòng {first} / duplicate of line {first}"
            )));
            continue;
        }
        seen.insert(key.clone(), line);
        rows.push(Row {
            line,
            key,
            name,
            address,
            category,
            district,
            event,
            max_stay,
        });
    }
    Ok((rows, bad))
}

/// The batch secret of `out` (created on first use).
fn batch_secret(out: &Path) -> Result<Zeroizing<Vec<u8>>> {
    let path = out.join(".batch-secret");
    if !path.exists() {
        let mut raw = [0u8; 32];
        rand_core::Rng::fill_bytes(&mut crate::system_rng(), &mut raw);
        match fsutil::write_new(&path, HEXLOWER.encode(&raw).as_bytes()) {
            Ok(()) | Err(VenueError::VenueFileExists(_)) => {}
            Err(e) => return Err(e),
        }
        zeroize::Zeroize::zeroize(&mut raw);
    }
    let text = Zeroizing::new(fsutil::read_limited(&path, 1024)?);
    let bytes = HEXLOWER
        .decode(text.trim_ascii())
        .map_err(|_| VenueError::CorruptVenueFile(format!("{}", path.display())))?;
    Ok(Zeroizing::new(bytes))
}

/// The passphrase of one row's venue file.
fn row_passphrase(secret: &[u8], key: &str) -> Result<Zeroizing<String>> {
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .map_err(|_| VenueError::InvalidInput("batch secret".into()))?;
    mac.update(b"quet-venue/v1/batch-passphrase");
    mac.update(key.as_bytes());
    let tag = Zeroizing::new(mac.finalize().into_bytes().to_vec());
    let mut raw = Zeroizing::new([0u8; 13]);
    raw.copy_from_slice(tag.get(..13).unwrap_or(&[0u8; 13]));
    Ok(crate::venue::passphrase_from_bytes(&raw))
}

fn dir(out: &Path, name: &str) -> Result<PathBuf> {
    let d = out.join(name);
    std::fs::create_dir_all(&d).map_err(|e| VenueError::io(format!("{}", d.display()), e))?;
    Ok(d)
}

/// Opens the row's venue file, or makes it.
fn venue_for(row: &Row, opts: &BatchOptions, path: &Path, pass: &str) -> Result<(Venue, bool)> {
    if path.exists() {
        let v = Venue::open(path, Some(pass))?;
        if v.info().name != row.name.trim() || v.info().address != row.address.trim() {
            return Err(VenueError::CorruptVenueFile(format!(
                "{} belongs to another venue",
                path.display()
            )));
        }
        return Ok((v, false));
    }
    let mut new = NewVenue::new(
        row.name.clone(),
        row.address.clone(),
        row.category,
        opts.server_url.clone(),
        opts.descriptor.clone(),
    );
    new.max_stay_minutes = row.max_stay;
    new.event = row.event;
    new.expected_fingerprint = opts.expected_fingerprint.clone();
    new.utc_offset_minutes = opts.utc_offset_minutes;
    let v = Venue::create_protected(
        &mut crate::system_rng(),
        path,
        &new,
        Protection::Generated(pass),
    )?;
    Ok((v, true))
}

/// Runs `f` over `items` on every core, keeping the order of the results.
fn parallel<T: Sync, U: Send>(items: &[T], f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    let n = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let chunk = items.len().div_ceil(n).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<U>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// Refuses, before anything is made or sent, a poster week that the authority's
/// capsule keys do not cover (a day before the authority's first key, e.g. a past
/// `--from`, or beyond the keys it has announced): every poster would fail, so
/// the run would register the venues and print nothing.
pub fn check_poster_week(descriptor: &AuthorityDescriptor, first: Day) -> Result<()> {
    let date = |d: u32| timefmt::format_date(timefmt::civil_from_days(i64::from(d)));
    for i in 0..printables::POSTER_DAYS {
        let day = first
            .0
            .checked_add(i)
            .ok_or_else(|| VenueError::InvalidInput("date out of range".into()))?;
        if descriptor.capsule_for(Day(day).start()).is_err() {
            let covered = descriptor
                .capsule_keys
                .iter()
                .map(|k| (k.not_before.0, k.not_after.0))
                .fold(None, |acc: Option<(u64, u64)>, (a, b)| {
                    Some(acc.map_or((a, b), |(x, y)| (x.min(a), y.max(b))))
                });
            let range = covered
                .map(|(a, b)| {
                    let (a, b) = (a / 86_400, b.saturating_sub(1) / 86_400);
                    format!(
                        "{} – {}",
                        date(u32::try_from(a).unwrap_or(u32::MAX)),
                        date(u32::try_from(b).unwrap_or(u32::MAX))
                    )
                })
                .unwrap_or_default();
            return Err(VenueError::InvalidInput(format!(
                "cơ quan y tế chưa có khóa cho ngày {d} (áp phích in được cho {range}); \
                 chọn --from trong khoảng đó / the authority has no capsule key for {d} \
                 (posters can be printed for {range}); choose --from in that range",
                d = date(day),
            )));
        }
    }
    Ok(())
}

/// Runs (or resumes) a batch. Writes `results.csv` in `opts.out` at the end.
pub fn run(opts: &BatchOptions) -> Result<BatchReport> {
    let descriptor = AuthorityDescriptor::decode(&opts.descriptor)
        .map_err(|e| VenueError::BadDescriptor(e.to_string()))?;
    check_poster_week(&descriptor, opts.first_day)?;
    let (rows, bad_rows) = read_rows(&opts.csv, opts.utc_offset_minutes)?;
    std::fs::create_dir_all(&opts.out)
        .map_err(|e| VenueError::io(format!("{}", opts.out.display()), e))?;
    // One run at a time per output directory; the lock also makes it safe to sweep
    // the temporary files a killed run left behind.
    let _lock = fsutil::lock_dir(&opts.out)?;
    let secret = batch_secret(&opts.out)?;
    let venues_dir = dir(&opts.out, "venues")?;
    let posters_dir = dir(&opts.out, "posters")?;
    let sheets_dir = dir(&opts.out, "sheets")?;
    for d in [&opts.out, &venues_dir, &posters_dir, &sheets_dir] {
        fsutil::remove_stale_temps(d)?;
    }

    // 1. Venue files (made once, reopened on a rerun).
    let opened: Vec<Result<(Venue, bool)>> = parallel(&rows, |row| {
        let pass = row_passphrase(&secret, &row.key)?;
        venue_for(
            row,
            opts,
            &venues_dir.join(format!("{}.json", row.key)),
            &pass,
        )
    });
    let mut report = BatchReport::default();
    let mut venues: Vec<Option<Venue>> = Vec::with_capacity(rows.len());
    for (row, res) in rows.iter().zip(opened) {
        let (venue, error) = match res {
            Ok((v, created)) => {
                report.files_created += usize::from(created);
                (Some(v), None)
            }
            Err(e) => (None, Some(e.to_string())),
        };
        report.rows.push(RowResult {
            line: row.line,
            key: row.key.clone(),
            name: row.name.clone(),
            district: row.district.clone(),
            registration: venue.as_ref().and_then(|v| v.registration().cloned()),
            venue_file: venues_dir.join(format!("{}.json", row.key)),
            poster: None,
            sheet: None,
            error,
        });
        venues.push(venue);
    }

    // 2. Registration, in chunks, for every venue not yet approved.
    let todo: Vec<usize> = (0..rows.len())
        .filter(|&i| {
            venues.get(i).is_some_and(Option::is_some)
                && report.rows.get(i).is_some_and(|r| {
                    r.registration
                        .as_ref()
                        .is_none_or(|g| g.status != "approved")
                })
        })
        .collect();
    for chunk in todo.chunks(BATCH_CHUNK) {
        let mut entries = Vec::with_capacity(chunk.len());
        for &i in chunk {
            if let (Some(Some(v)), Some(row)) = (venues.get(i), rows.get(i)) {
                entries.push(BatchEntry {
                    idempotency_key: row.key.clone(),
                    signed: registration::signed_request(v, &row.district)?,
                });
            }
        }
        let outcomes = registration::submit_batch(
            &opts.server_url,
            &opts.token,
            &entries,
            opts.validity_days,
        )?;
        for (&i, o) in chunk.iter().zip(outcomes) {
            let (Some(Some(v)), Some(row), Some(res)) =
                (venues.get_mut(i), rows.get(i), report.rows.get_mut(i))
            else {
                continue;
            };
            match (o.error, o.id, o.status) {
                (None, Some(id), Some(status)) => {
                    report.registered_now += usize::from(o.created);
                    let reg = Registration {
                        server_url: crate::venue::validate_base_url(&opts.server_url)?,
                        district: row.district.clone(),
                        id,
                        status,
                        serial: o.serial,
                        valid_until: o.valid_until,
                        certificate: o.certificate,
                    };
                    v.save_registration(reg.clone())?;
                    res.registration = Some(reg);
                }
                (err, _, _) => {
                    res.error = Some(format!(
                        "máy chủ từ chối / refused by the server: {} {}",
                        err.unwrap_or_default(),
                        o.message.unwrap_or_default()
                    ));
                }
            }
        }
    }

    // 3. Printouts of approved venues, missing ones only.
    let ext = if opts.pdf { "pdf" } else { "html" };
    let jobs: Vec<usize> = (0..rows.len())
        .filter(|&i| {
            report
                .rows
                .get(i)
                .and_then(|r| r.registration.as_ref())
                .is_some_and(|g| g.status == "approved")
        })
        .collect();
    let printed: Vec<(usize, Result<(PathBuf, PathBuf)>)> = parallel(&jobs, |&i| {
        let res = (|| {
            let (Some(Some(v)), Some(row)) = (venues.get(i), rows.get(i)) else {
                return Err(VenueError::InvalidInput("row".into()));
            };
            let poster = posters_dir.join(format!("{}.{ext}", row.key));
            let sheet = sheets_dir.join(format!("{}.{ext}", row.key));
            if !poster.exists() {
                let bytes = if opts.pdf {
                    pdf::poster_pdf(v, opts.first_day, opts.paper, &v.print_extras())?
                } else {
                    printables::poster_html(v, opts.first_day)?.into_bytes()
                };
                write_once(&poster, &bytes)?;
            }
            if !sheet.exists() {
                let extras = PrintExtras {
                    venue_file_passphrase: Some(row_passphrase(&secret, &row.key)?),
                    ..v.print_extras()
                };
                let now = UnixTime(crate::display::Clock::now(&crate::display::SystemClock).0);
                let bytes = if opts.pdf {
                    pdf::tracing_sheet_pdf(v, now, opts.paper, &extras)?
                } else {
                    Zeroizing::new(printables::tracing_sheet_html(v, now)?.as_bytes().to_vec())
                };
                write_once(&sheet, &bytes)?;
            }
            Ok((poster, sheet))
        })();
        (i, res)
    });
    for (i, res) in printed {
        if let Some(r) = report.rows.get_mut(i) {
            match res {
                Ok((p, s)) => {
                    r.poster = Some(p);
                    r.sheet = Some(s);
                }
                Err(e) => r.error = Some(e.to_string()),
            }
        }
    }
    report.bad_rows = bad_rows;
    report.results_csv = opts.out.join("results.csv");
    fsutil::replace(
        &report.results_csv,
        results_csv(&report, &opts.out).as_bytes(),
    )?;
    Ok(report)
}

fn write_once(path: &Path, bytes: &[u8]) -> Result<()> {
    match fsutil::write_new(path, bytes) {
        Ok(()) | Err(VenueError::VenueFileExists(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn rel(p: &Path, base: &Path) -> String {
    p.strip_prefix(base).unwrap_or(p).display().to_string()
}

/// `results.csv`: one line per input row (valid or not), in input order.
fn results_csv(r: &BatchReport, base: &Path) -> String {
    let mut lines: Vec<(u64, String)> = Vec::new();
    for row in &r.rows {
        let reg = row.registration.as_ref();
        let status = match (&row.error, reg) {
            (Some(_), _) => "error".to_owned(),
            (None, Some(g)) => g.status.clone(),
            (None, None) => "not_registered".to_owned(),
        };
        lines.push((
            row.line,
            format!(
                "{},{},{},{},{},{},{},{},{},{},{}",
                row.line,
                row.key,
                status,
                reg.map(|g| g.id.to_string()).unwrap_or_default(),
                reg.and_then(|g| g.serial)
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                field(&row.name),
                field(&row.district),
                field(&rel(&row.venue_file, base)),
                row.poster
                    .as_deref()
                    .map(|p| rel(p, base))
                    .unwrap_or_default(),
                row.sheet
                    .as_deref()
                    .map(|p| rel(p, base))
                    .unwrap_or_default(),
                field(row.error.as_deref().unwrap_or("")),
            ),
        ));
    }
    for b in &r.bad_rows {
        lines.push((
            b.line,
            format!("{},,error,,,,,,,,{}", b.line, field(&b.message)),
        ));
    }
    lines.sort_by_key(|(l, _)| *l);
    let mut out = String::from(
        "line,key,status,registration_id,serial,name,district,venue_file,poster,tracing_sheet,error\r\n",
    );
    for (_, l) in lines {
        out.push_str(&l);
        out.push_str("\r\n");
    }
    out
}
