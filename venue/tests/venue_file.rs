//! Bad input gets a clear error and never overwrites an existing venue file:
//! unknown category, malformed authority URL, bad or mismatched descriptor,
//! corrupt venue file, wrong or missing passphrase. Also: the file is 0600, the
//! passphrase really protects the key, and the CLI end to end.

mod common;

use std::process::Command;

use common::*;
use quet_protocol::category::Category;
use quet_venue::venue::{parse_category, validate_base_url};
use quet_venue::{Venue, VenueError};

#[test]
fn unknown_category_is_a_clear_error_listing_the_choices() {
    let e = parse_category("spaceport").unwrap_err();
    assert!(matches!(e, VenueError::UnknownCategory(_)));
    let msg = e.to_string();
    assert!(
        msg.contains("spaceport") && msg.contains("unknown venue category"),
        "{msg}"
    );
    assert!(
        msg.contains("bar-karaoke") && msg.contains("wedding"),
        "{msg}"
    );
    for c in Category::ALL {
        assert_eq!(parse_category(c.slug()).unwrap(), *c);
    }
}

#[test]
fn malformed_authority_urls_are_refused() {
    for bad in [
        "quet.soyte.example",
        "ftp://quet.example",
        "https://",
        "https:///path",
        "http://exa mple.com",
        "https://host/?q=1",
        "https://host/#frag",
        "https://user@host",
        "https://host:port",
        "https://host:123456",
        "javascript:alert(1)",
    ] {
        let e = validate_base_url(bad).unwrap_err();
        assert!(matches!(e, VenueError::BadAuthorityUrl(_)), "{bad}: {e}");
        assert!(e.to_string().contains("malformed authority URL"));
    }
    assert_eq!(
        validate_base_url("https://quet.soyte.example/").unwrap(),
        "https://quet.soyte.example"
    );
    assert_eq!(
        validate_base_url("http://127.0.0.1:8080").unwrap(),
        "http://127.0.0.1:8080"
    );
    assert_eq!(
        validate_base_url("https://cdn.example/quet/").unwrap(),
        "https://cdn.example/quet"
    );
}

#[test]
fn create_never_overwrites_and_bad_input_writes_nothing() {
    let mut w = World::new();
    let path = w.path("v.json");
    let new = w.new_venue("Quán Bia Hơi", "5 Tạ Hiện", Category::Restaurant);
    let v = Venue::create(&mut w.rng, &path, &new, None).unwrap();
    let before = std::fs::read(&path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert_eq!(
        v.info().max_stay_minutes,
        Category::Restaurant.default_max_stay_minutes()
    );

    let e = Venue::create(&mut w.rng, &path, &new, None).unwrap_err();
    assert!(matches!(e, VenueError::VenueFileExists(_)), "{e}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "existing venue file changed"
    );

    // Each bad input fails before anything is written.
    let fresh = w.path("fresh.json");
    let mut long = new.clone();
    long.name = "x".repeat(65);
    let mut bad_url = new.clone();
    bad_url.server_url = "not a url".into();
    let mut bad_desc = new.clone();
    let n = bad_desc.descriptor.len();
    bad_desc.descriptor[n - 1] ^= 1;
    let mut wrong_fp = new.clone();
    wrong_fp.expected_fingerprint = Some("AAAA-BBBB-CCCC-DDDD".into());
    let mut zero_stay = new.clone();
    zero_stay.max_stay_minutes = Some(0);
    for (what, nv) in [
        ("long name", long),
        ("bad url", bad_url),
        ("bad descriptor", bad_desc),
        ("wrong fingerprint", wrong_fp),
        ("zero stay", zero_stay),
    ] {
        let e = Venue::create(&mut w.rng, &fresh, &nv, None).unwrap_err();
        assert!(!fresh.exists(), "{what}: file written despite {e}");
        // The same bad input over an existing file leaves it alone.
        assert!(Venue::create(&mut w.rng, &path, &nv, None).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), before, "{what}");
    }
    // The right fingerprint (any case, spaces) is accepted and the venue overridable.
    let mut ok = new.clone();
    ok.expected_fingerprint = Some(w.descriptor.fingerprint().to_lowercase().replace('-', " "));
    ok.max_stay_minutes = Some(45);
    let v2 = Venue::create(&mut w.rng, &fresh, &ok, None).unwrap();
    assert_eq!(v2.info().max_stay_minutes, 45);
    assert_ne!(v2.master(), v.master());
    // No temporary files left behind.
    let names: Vec<_> = std::fs::read_dir(w.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
}

#[test]
fn corrupt_venue_files_are_reported_and_left_alone() {
    let mut w = World::new();
    let v = w.venue("v.json", Category::School);
    let good = std::fs::read_to_string(v.path()).unwrap();
    let master_hex = data_encoding::HEXLOWER.encode(v.master().expose());
    let flip = |s: &str| {
        let mut c: Vec<char> = s.chars().collect();
        c[0] = if c[0] == 'a' { 'b' } else { 'a' };
        c.into_iter().collect::<String>()
    };
    let cases = [
        ("truncated", good[..good.len() / 2].to_owned()),
        ("garbage", "\u{0}\u{1}not json".to_owned()),
        ("short key", good.replace(&master_hex, &master_hex[..40])),
        ("bad category", good.replace("\"school\"", "\"casino\"")),
        (
            "bad fingerprint",
            good.replace(
                &v.descriptor().fingerprint(),
                &flip(&v.descriptor().fingerprint()),
            ),
        ),
        ("unknown field", good.replacen('{', "{\"extra\":1,", 1)),
        (
            "other format",
            good.replace("quet-venue-file/v1", "quet-venue-file/v9"),
        ),
    ];
    for (what, text) in cases {
        assert_ne!(text, good, "{what}: case did not change the file");
        let p = w.path(&format!("{}.json", what.replace(' ', "-")));
        std::fs::write(&p, &text).unwrap();
        let e = Venue::open(&p, None).unwrap_err();
        assert!(matches!(e, VenueError::CorruptVenueFile(_)), "{what}: {e}");
        assert!(e.to_string().contains("corrupt venue file"), "{what}: {e}");
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            text,
            "{what}: file rewritten"
        );
    }
    let e = Venue::open(&w.path("missing.json"), None).unwrap_err();
    assert!(matches!(e, VenueError::Io { .. }), "{e}");
}

#[test]
fn passphrase_protects_the_master_key() {
    let mut w = World::new();
    let path = w.path("locked.json");
    let new = w.new_venue("Phòng khám Đa khoa", "1 Phố Huế", Category::HospitalClinic);
    let v = Venue::create(&mut w.rng, &path, &new, Some("mật khẩu dài 2021")).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(&data_encoding::HEXLOWER.encode(v.master().expose())));
    assert!(text.contains("pbkdf2-hmac-sha256+xchacha20poly1305") && text.contains("600000"));

    let e = Venue::open(&path, None).unwrap_err();
    assert!(matches!(e, VenueError::PassphraseRequired), "{e}");
    let e = Venue::open(&path, Some("mật khẩu sai")).unwrap_err();
    assert!(matches!(e, VenueError::WrongPassphrase), "{e}");
    assert!(e.to_string().contains("wrong passphrase"));
    let opened = Venue::open(&path, Some("mật khẩu dài 2021")).unwrap();
    assert_eq!(opened.master(), v.master());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "opening must not rewrite"
    );
    // Altered ciphertext is refused too, never a different key.
    let ct_start = text.find("\"ciphertext\": \"").unwrap() + 15;
    let mut altered = text.clone().into_bytes();
    altered[ct_start] = if altered[ct_start] == b'0' {
        b'1'
    } else {
        b'0'
    };
    std::fs::write(&path, &altered).unwrap();
    assert!(matches!(
        Venue::open(&path, Some("mật khẩu dài 2021")).unwrap_err(),
        VenueError::WrongPassphrase
    ));
    // An empty passphrase is refused at create.
    assert!(Venue::create(&mut w.rng, &w.dir.path().join("empty.json"), &new, Some("")).is_err());
}

fn cli(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_quet-venue"))
        .current_dir(dir)
        .env_remove("QUET_VENUE_PASSPHRASE")
        .env_remove("QUET_VENUE_FILE")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn cli_creates_prints_and_refuses_bad_input() {
    let w = World::new();
    let dir = w.dir.path();
    std::fs::write(dir.join("ha.bin"), &w.descriptor_bytes).unwrap();
    // `extra` replaces the value of an option (clap refuses repeated options).
    let create = |extra: &[&str]| {
        let mut a = vec![
            "--venue",
            "v.json",
            "create",
            "--name",
            "Chợ Đồng Xuân",
            "--address",
            "Đồng Xuân, Hoàn Kiếm",
            "--category",
            "market",
            "--authority",
            "http://127.0.0.1:9",
            "--descriptor-file",
            "ha.bin",
        ];
        for pair in extra.chunks(2) {
            let i = a.iter().position(|x| *x == pair[0]).unwrap();
            a[i + 1] = pair[1];
        }
        cli(dir, &a)
    };
    // Unknown category: clear error, exit 1, nothing written.
    let out = create(&["--category", "spaceport"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown venue category"));
    assert!(!dir.join("v.json").exists());
    let out = create(&["--authority", "quet.example"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("malformed authority URL"));
    assert!(!dir.join("v.json").exists());

    let out = create(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&w.descriptor.fingerprint()),
        "fingerprint shown: {stdout}"
    );
    let master = Venue::open(&dir.join("v.json"), None)
        .unwrap()
        .master()
        .to_sheet_text();
    assert!(!stdout.contains(&master), "create must not print the key");
    let before = std::fs::read(dir.join("v.json")).unwrap();
    let out = create(&["--category", "spaceport"]);
    assert_eq!(out.status.code(), Some(1));
    let out = create(&[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(std::fs::read(dir.join("v.json")).unwrap(), before);

    let ok = |args: &[&str]| {
        let o = cli(dir, args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let info = ok(&["--venue", "v.json", "info"]);
    assert!(info.contains("Chợ / Market") && !info.contains(&master));
    ok(&["--venue", "v.json", "tracing-sheet", "--out", "sheet.html"]);
    assert!(
        std::fs::read_to_string(dir.join("sheet.html"))
            .unwrap()
            .contains(&master)
    );
    // The tracing sheet is never overwritten either.
    assert!(
        !cli(
            dir,
            &["--venue", "v.json", "tracing-sheet", "--out", "sheet.html"]
        )
        .status
        .success()
    );
    ok(&[
        "--venue",
        "v.json",
        "poster",
        "--from",
        "2026-09-21",
        "--out",
        "poster.html",
    ]);
    assert_eq!(
        std::fs::read_to_string(dir.join("poster.html"))
            .unwrap()
            .matches("<svg")
            .count(),
        7
    );
    ok(&[
        "--venue",
        "v.json",
        "assist",
        "paper-log",
        "--out",
        "log.html",
    ]);
    ok(&[
        "--venue",
        "v.json",
        "assist",
        "add",
        "--name",
        "Bà Tư",
        "--phone",
        "0987 000 111",
    ]);
    let list = ok(&["--venue", "v.json", "assist", "list"]);
    assert!(list.contains("Bà Tư") && list.contains("0987 000 111"));
    // To look at the printouts: QUET_VENUE_SHOTS=/some/dir cargo test --test venue_file
    if let Ok(out) = std::env::var("QUET_VENUE_SHOTS") {
        for f in ["sheet.html", "poster.html", "log.html", "v.json"] {
            std::fs::copy(dir.join(f), std::path::Path::new(&out).join(f)).unwrap();
        }
    }
    let m = ok(&["--venue", "v.json", "measure-qr"]);
    assert!(
        m.contains("base32 URL") && m.contains("base64url URL"),
        "{m}"
    );
}
