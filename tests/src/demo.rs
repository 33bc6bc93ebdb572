//! The whole story on one machine: an authority, venues of three kinds in Hà Nội,
//! a simulated day of visitors, one confirmed case, staff review, a venue-initiated
//! trace, a bulletin, every phone syncing, and a check of who was notified against
//! ground truth computed from the simulated visits.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use quet_client::{Client, SqliteStore, UreqTransport};
use quet_protocol::time::UnixTime;
use quet_venue::assist::{AssistLog, AssistedVisit};
use quet_venue::{NewVenue, Venue};
use rand_core::UnwrapErr;

use crate::harness::{Authority, HarnessResult, ServerProcess, Staff, fetch_descriptor};
use crate::sim::{
    CheckInMode, Visit, expected_notified, hanoi_venues, local_day_of, local_time, simulate_day,
};

/// Settings of a demo run.
#[derive(Clone, Debug)]
pub struct DemoConfig {
    /// Number of simulated people (besides the case).
    pub people: usize,
    /// Seed of the simulation.
    pub seed: u8,
    /// Print progress and results.
    pub verbose: bool,
    /// Minutes of buffer the investigator adds around the case's stays.
    pub buffer_minutes: u64,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            people: 60,
            seed: 7,
            verbose: true,
            buffer_minutes: 15,
        }
    }
}

/// What a demo run found.
#[derive(Debug)]
pub struct DemoOutcome {
    /// (person, venue) pairs that were notified (phones) or listed to call (assisted).
    pub notified: BTreeSet<(usize, usize)>,
    /// (person, venue) pairs that should have been, from the simulated visits.
    pub expected: BTreeSet<(usize, usize)>,
    /// Visits that shared a venue with the case but not its time.
    pub same_venue_other_time: usize,
    /// Row counts of the server's tables after processing.
    pub server_rows: BTreeMap<String, i64>,
    /// Review rows still holding an envelope after processing.
    pub envelopes_left: i64,
    /// Review rows still holding visit data (venue or times) after processing.
    pub visit_rows_left: i64,
}

impl DemoOutcome {
    /// Whether everything came out as it must.
    pub fn is_correct(&self) -> bool {
        self.notified == self.expected && self.envelopes_left == 0 && self.visit_rows_left == 0
    }
}

/// The case: person 0, whose visits are fixed so every check-in mode is traced.
pub const CASE: usize = 0;

fn now() -> UnixTime {
    UnixTime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
}

fn free_loopback_port() -> HarnessResult<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// Runs the demo in `dir` (a fresh temporary directory).
pub fn run(dir: &Path, cfg: &DemoConfig) -> HarnessResult<DemoOutcome> {
    let say = |s: String| {
        if cfg.verbose {
            println!("{s}");
        }
    };
    let mut rng = UnwrapErr(getrandom::SysRng);
    let venues_profiles = hanoi_venues();

    // 1. The health authority.
    let port = free_loopback_port()?;
    let base = format!("http://127.0.0.1:{port}");
    say("1. Sở Y tế khởi tạo máy chủ / The health authority initialises its server".into());
    let authority = Authority::init(
        &dir.join("authority"),
        "Sở Y tế Hà Nội / Hanoi Department of Health",
        &base,
    )?;
    for line in authority.init_output.lines() {
        say(format!("   {line}"));
    }
    let server = ServerProcess::start(&authority.data, Some(&format!("127.0.0.1:{port}")), &[])?;
    say(format!("   serving on {}", server.base));
    let descriptor = fetch_descriptor(&server.base)?;
    let staff = Staff {
        base: &server.base,
        token: &authority.staff_token,
    };

    // 2. Venues.
    say("2. Ba địa điểm tạo mã / Three venues set up their codes".into());
    let mut venues = Vec::new();
    for (i, p) in venues_profiles.iter().enumerate() {
        let new = NewVenue::new(p.name, p.address, p.category, &base, descriptor.clone());
        let v = Venue::create(&mut rng, &dir.join(format!("venue-{i}.json")), &new, None)
            .map_err(|e| e.to_string())?;
        let mode = match p.mode {
            CheckInMode::Screen => "màn hình mã xoay / rotating screen",
            CheckInMode::Poster => "áp phích in / printed poster",
            CheckInMode::Assisted => "nhân viên khai hộ / staff-assisted",
        };
        say(format!(
            "   {} — {} ({})",
            p.name,
            p.category.label_vi(),
            mode
        ));
        venues.push(v);
    }
    let mut issuers = venues
        .iter()
        .map(|v| v.issuer().map_err(|e| e.to_string()))
        .collect::<HarnessResult<Vec<_>>>()?;
    if cfg.verbose {
        let code = issuers[0]
            .screen_code(&mut rng, now())
            .map_err(|e| e.to_string())?;
        let url = code.to_url(&base);
        let art = quet_venue::qr::terminal_of(url.as_bytes()).map_err(|e| e.to_string())?;
        println!(
            "   Mã đang hiển thị tại {} (đổi mỗi 30 giây) / the code on screen now:\n{art}",
            venues_profiles[0].name
        );
    }

    // 3. A day of visits (yesterday, local time), and the case's own day.
    let local_day = local_day_of(now()) - 1;
    let mut visits: Vec<Visit> =
        simulate_day(cfg.seed, local_day, cfg.people + 1, &venues_profiles)
            .into_iter()
            .filter(|v| v.person != CASE)
            .collect();
    let case_visits = vec![
        Visit {
            person: CASE,
            venue: 2,
            arrival: local_time(local_day, 8, 10),
            departure: local_time(local_day, 9, 0),
        },
        Visit {
            person: CASE,
            venue: 0,
            arrival: local_time(local_day, 12, 5),
            departure: local_time(local_day, 12, 45),
        },
        Visit {
            person: CASE,
            venue: 1,
            arrival: local_time(local_day, 16, 20),
            departure: local_time(local_day, 16, 50),
        },
    ];
    visits.extend(case_visits.iter().copied());
    visits.sort_by_key(|v| (v.arrival, v.person));
    say(format!(
        "3. Một ngày ({} lượt ghé) / A simulated day: {} visits by {} people",
        visits.len(),
        visits.len(),
        cfg.people + 1
    ));

    let mut phones: BTreeMap<usize, Client<SqliteStore>> = BTreeMap::new();
    let mut assist = AssistLog::open(&venues[2]).map_err(|e| e.to_string())?;
    let mut assisted_ids: BTreeMap<u64, usize> = BTreeMap::new();
    for v in &visits {
        let profile = &venues_profiles[v.venue];
        match profile.mode {
            CheckInMode::Assisted => {
                let visit = AssistedVisit {
                    name: format!("Khách {}", v.person),
                    phone: format!("09{:08}", v.person),
                    arrival: v.arrival,
                    departure: Some(v.departure),
                };
                let id = assist
                    .check_in(&venues[2], &mut rng, &visit, v.arrival)
                    .map_err(|e| e.to_string())?;
                assisted_ids.insert(id, v.person);
            }
            mode => {
                let phone = match phones.entry(v.person) {
                    std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::btree_map::Entry::Vacant(e) => {
                        let mut c = Client::open_dir(&dir.join(format!("phone-{}", v.person)))
                            .map_err(|e| e.to_string())?;
                        c.pin_authority(&descriptor).map_err(|e| e.to_string())?;
                        e.insert(c)
                    }
                };
                let code = if mode == CheckInMode::Screen {
                    issuers[v.venue].screen_code(&mut rng, v.arrival)
                } else {
                    let day = issuers[v.venue]
                        .local_day(v.arrival)
                        .map_err(|e| e.to_string())?;
                    issuers[v.venue].poster_code(&mut rng, day)
                }
                .map_err(|e| e.to_string())?;
                let checked = phone
                    .check_in(&code.to_url(&base), v.arrival)
                    .map_err(|e| e.to_string())?;
                phone
                    .check_out(Some(checked.id), v.departure)
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    say(format!(
        "   {} phones checked in offline; {} visitors checked in by clinic staff",
        phones.len(),
        assisted_ids.len()
    ));

    // 4. The case tests positive and reports with an authorization code.
    say("4. Một người dương tính và gửi báo cáo / A visitor tests positive and reports".into());
    let auth_code = staff.issue_auth_code()?;
    say(format!("   authorization code from the HA: {auth_code}"));
    let case_phone = phones.get_mut(&CASE).ok_or("the case has no phone")?;
    let transport = UreqTransport::default();
    let plan = case_phone
        .report_preview(&transport, None, &auth_code, now())
        .map_err(|e| e.to_string())?;
    for c in &plan.check_ins {
        say(format!(
            "   will send: {} ({})",
            c.venue_name, c.category_en
        ));
    }
    let receipt = case_phone
        .report_submit(&transport, &plan)
        .map_err(|e| e.to_string())?;
    say(format!(
        "   uploaded {} real envelopes padded to 100; receipt {}",
        receipt.sent, receipt.receipt
    ));

    // 5. Staff review and approve; the clinic is traced from its tracing sheet.
    say("5. Cán bộ y tế duyệt / Health-authority staff review and publish".into());
    let message_vi =
        "Bạn đã ở cùng địa điểm với một ca bệnh. Hãy theo dõi sức khỏe và đi xét nghiệm.";
    let message_en =
        "You were at the same place as a confirmed case. Watch your health and get tested.";
    for r in staff.reviews()? {
        let id = r["id"].as_u64().ok_or("review without id")?;
        say(format!(
            "   review #{id}: {} — verified: {}",
            r["venue_name"].as_str().unwrap_or("?"),
            r["verified"]
        ));
        staff.approve(id, "test", message_vi, message_en, cfg.buffer_minutes)?;
    }
    let clinic_visit = case_visits[0];
    let sheet = venues[2].master().to_sheet_text();
    let traced = staff.trace(
        &sheet,
        clinic_visit.arrival.0,
        clinic_visit.departure.0,
        venues_profiles[2].category.default_max_stay_minutes(),
        cfg.buffer_minutes,
        "test",
        message_vi,
        message_en,
    )?;
    say(format!(
        "   venue-initiated trace of the clinic from its tracing sheet: {} notices",
        traced.len()
    ));
    let sequence = staff.publish()?;
    say(format!("   bulletin #{sequence} published"));

    // 6. Every phone syncs; the clinic checks its assisted log.
    say("6. Mọi điện thoại đồng bộ và đối chiếu / Every phone syncs and matches offline".into());
    let mut notified = BTreeSet::new();
    for (person, phone) in phones.iter_mut() {
        phone
            .sync(&transport, now(), &mut |_| {})
            .map_err(|e| format!("phone {person}: {e}"))?;
        for alert in phone.alerts().map_err(|e| e.to_string())? {
            let venue = venues_profiles
                .iter()
                .position(|p| p.name == alert.venue_name)
                .ok_or("alert for an unknown venue")?;
            if *person != CASE {
                notified.insert((*person, venue));
            }
        }
    }
    let report = assist
        .match_server(&mut venues[2], &base, now())
        .map_err(|e| e.to_string())?;
    for e in &report.exposures {
        let person = *assisted_ids.get(&e.id).ok_or("unknown assisted entry")?;
        if person != CASE {
            notified.insert((person, 2));
        }
    }

    // 7. Ground truth and the privacy facts.
    let buffer = cfg.buffer_minutes * 60;
    let expected = expected_notified(&visits, &case_visits, buffer);
    let same_venue_other_time = visits
        .iter()
        .filter(|v| {
            v.person != CASE
                && case_visits.iter().any(|c| c.venue == v.venue)
                && !expected.contains(&(v.person, v.venue))
        })
        .count();
    for (i, p) in venues_profiles.iter().enumerate() {
        let n: Vec<String> = notified
            .iter()
            .filter(|(_, v)| *v == i)
            .map(|(p, _)| p.to_string())
            .collect();
        say(format!(
            "   {}: notified people {}",
            p.name,
            if n.is_empty() {
                "—".into()
            } else {
                n.join(", ")
            }
        ));
    }
    say(format!(
        "   {} notified, {} expected; {} visits at the same venues at other times correctly not notified",
        notified.len(),
        expected.len(),
        same_venue_other_time
    ));
    if let Some(alert) = phones
        .values()
        .flat_map(|p| p.alerts().unwrap_or_default())
        .next()
    {
        say(format!(
            "   message shown: {} / {}",
            alert.message_vi, alert.message_en
        ));
    }

    let db = rusqlite::Connection::open_with_flags(
        authority.data.join("quet.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .map_err(|e| e.to_string())?;
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| e.to_string())?;
    let mut server_rows = BTreeMap::new();
    for t in &tables {
        let n: i64 = db
            .query_row(&format!("SELECT COUNT(*) FROM \"{t}\""), [], |r| r.get(0))
            .map_err(|e| e.to_string())?;
        server_rows.insert(t.clone(), n);
    }
    let envelopes_left: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM reviews WHERE envelope IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .map_err(|e| e.to_string())?;
    let visit_rows_left: i64 = db
        .query_row("SELECT COUNT(*) FROM reviews", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    say("7. Máy chủ lưu gì / What the server holds now".into());
    say(format!("   tables and rows: {server_rows:?}"));
    say(format!(
        "   envelopes left: {envelopes_left}; visit records left: {visit_rows_left} (the server never had a visit list)"
    ));
    drop(server);
    Ok(DemoOutcome {
        notified,
        expected,
        same_venue_other_time,
        server_rows,
        envelopes_left,
        visit_rows_left,
    })
}
