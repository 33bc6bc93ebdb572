//! Check-in, check-out, stays, diary, retention and the refusals of bad codes,
//! through the library over an in-memory store.

mod common;

use common::*;
use quet_client::{ClientError, exit};
use quet_protocol::category::Category;
use quet_protocol::code::CheckInCode;
use quet_protocol::time::UnixTime;

const BASE: &str = "https://quet.soyte.example";

#[test]
fn check_in_from_url_shows_venue_and_planned_check_out() {
    let mut w = World::new(BASE);
    let mut venue = w.venue("Phở Thìn", Category::Restaurant);
    let mut c = pinned_client(&w, 1);
    let url = w.code_url(&mut venue, at(12, 0));
    let v = c.check_in(&url, at(12, 1)).unwrap();
    assert_eq!(v.venue_name, "Phở Thìn");
    assert_eq!(v.category, "restaurant");
    assert_eq!(v.category_vi, "Nhà hàng, quán ăn");
    assert_eq!(v.arrival, at(12, 1).0);
    assert_eq!(
        v.departure,
        at(14, 1).0,
        "planned auto check-out at max stay"
    );
    assert!(v.checked_in);
    assert_eq!(c.diary(at(12, 2)).unwrap(), vec![v]);
}

#[test]
fn check_in_from_bare_payload() {
    let mut w = World::new(BASE);
    let mut venue = w.venue("Chợ Bến Thành", Category::Market);
    let mut c = pinned_client(&w, 1);
    let code = venue.screen_code(&mut w.rng, at(8, 0)).unwrap();
    let v = c.check_in(&code.to_base32(), at(8, 0)).unwrap();
    assert_eq!(v.venue_name, "Chợ Bến Thành");
    let v2 = c.check_in_bytes(code.as_bytes(), at(8, 1)).unwrap();
    assert_ne!(v.id, v2.id);
}

#[test]
fn rejects_bad_signature() {
    let mut w = World::new(BASE);
    let mut venue = w.venue("Phở Thìn", Category::Restaurant);
    let mut c = pinned_client(&w, 1);
    let code = venue.screen_code(&mut w.rng, at(12, 0)).unwrap();
    let mut bytes = code.as_bytes().to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let e = c.check_in_bytes(&bytes, at(12, 0)).unwrap_err();
    assert_eq!(e.kind(), "bad_signature");
    assert_eq!(e.exit_code(), exit::BAD_CODE);
    assert!(e.explain().vi.contains("Chữ ký"));
    assert!(c.diary(at(12, 0)).unwrap().is_empty(), "nothing stored");
}

#[test]
fn rejects_expired_code_with_clock_hint() {
    let mut w = World::new(BASE);
    let mut venue = w.venue("Phở Thìn", Category::Restaurant);
    let mut c = pinned_client(&w, 1);
    let url = w.code_url(&mut venue, at(12, 0));
    let e = c.check_in(&url, at(12, 10)).unwrap_err();
    assert_eq!(e.kind(), "code_expired");
    assert!(
        e.explain().en.contains("check the phone's clock"),
        "{}",
        e.explain().en
    );
    // Times in the message are local (Vietnam, UTC+7 by default).
    assert!(e.explain().en.contains("2026-09-21 19:00 +07:00"));
    assert!(e.explain().vi.contains("đồng hồ"));
    // Two minutes is still fine.
    assert!(c.check_in(&url, at(12, 2)).is_ok());
}

#[test]
fn rejects_unknown_authority_with_hint() {
    let mut w = World::new(BASE);
    let mut venue = w.venue("Phở Thìn", Category::Restaurant);
    let mut c = memory_client(1);
    let url = w.code_url(&mut venue, at(12, 0));
    let e = c.check_in(&url, at(12, 0)).unwrap_err();
    assert_eq!(e.kind(), "unknown_authority");
    assert!(e.explain().en.contains("quet authority add"));
    assert!(e.explain().vi.contains("quet authority add"));
}

#[test]
fn rejects_unsupported_version() {
    let mut w = World::new(BASE);
    let mut venue = w.venue("Phở Thìn", Category::Restaurant);
    let mut c = pinned_client(&w, 1);
    let code = venue.screen_code(&mut w.rng, at(12, 0)).unwrap();
    let mut bytes = code.as_bytes().to_vec();
    bytes[0] = 9;
    let e = c.check_in_bytes(&bytes, at(12, 0)).unwrap_err();
    assert_eq!(e.kind(), "unsupported_version");
    assert!(e.explain().en.contains("update the app"));
}

#[test]
fn rejects_text_that_is_not_a_quet_code() {
    let w = World::new(BASE);
    let mut c = pinned_client(&w, 1);
    for text in ["https://example.com/menu", "hello world", "HTTPS://X/C#ABC"] {
        let e = c.check_in(text, at(12, 0)).unwrap_err();
        assert_eq!(e.kind(), "not_a_quet_code", "{text}");
        assert!(e.explain().en.contains("not a Quét check-in code"));
    }
}

#[test]
fn check_out_ends_stay_and_forgets_p_e() {
    let mut w = World::new(BASE);
    let mut venue = w.venue("Phở Thìn", Category::Restaurant);
    let mut c = pinned_client(&w, 1);
    let url = w.code_url(&mut venue, at(12, 0));
    let v = c.check_in(&url, at(12, 0)).unwrap();
    let rows = quet_client::Store::check_ins(c.store()).unwrap();
    assert!(rows[0].active.is_some());
    let out = c.check_out(None, at(12, 40)).unwrap();
    assert_eq!(out.id, v.id);
    assert_eq!(out.departure, at(12, 40).0);
    assert!(!out.checked_in);
    let rows = quet_client::Store::check_ins(c.store()).unwrap();
    assert!(rows[0].active.is_none(), "P_e and the code are forgotten");
    assert!(matches!(
        c.check_out(None, at(12, 41)),
        Err(ClientError::NotCheckedIn)
    ));
}

#[test]
fn auto_check_out_at_max_stay() {
    let mut w = World::new(BASE);
    let mut venue = w.venue("Phở Thìn", Category::Restaurant);
    let mut c = pinned_client(&w, 1);
    let url = w.code_url(&mut venue, at(12, 0));
    c.check_in(&url, at(12, 0)).unwrap();
    let d = c.diary(at(14, 1)).unwrap();
    assert!(!d[0].checked_in);
    assert_eq!(d[0].departure, at(14, 0).0);
    assert!(
        quet_client::Store::check_ins(c.store()).unwrap()[0]
            .active
            .is_none()
    );
}

#[test]
fn stay_extends_and_shortens_within_max_stay() {
    let mut w = World::new(BASE);
    let mut venue = w.venue("Phở Thìn", Category::Restaurant);
    let mut c = pinned_client(&w, 1);
    let url = w.code_url(&mut venue, at(12, 0));
    c.check_in(&url, at(12, 0)).unwrap();
    let v = c.set_stay(None, 30, at(12, 10)).unwrap();
    assert_eq!(v.departure, at(12, 30).0);
    assert!(v.checked_in);
    let v = c.set_stay(None, 600, at(12, 10)).unwrap();
    assert_eq!(v.departure, at(14, 0).0, "clipped to the 120 min max stay");
    let v = c.set_stay(None, 5, at(12, 10)).unwrap();
    assert!(!v.checked_in, "a stay ending in the past is a check-out");
    assert_eq!(v.departure, at(12, 5).0);
}

#[test]
fn checking_in_elsewhere_checks_out_the_previous_stay() {
    let mut w = World::new(BASE);
    let mut a = w.venue("Phở Thìn", Category::Restaurant);
    let mut b = w.venue("Highlands Coffee", Category::Restaurant);
    let mut c = pinned_client(&w, 1);
    let ua = w.code_url(&mut a, at(9, 0));
    let ub = w.code_url(&mut b, at(9, 30));
    c.check_in(&ua, at(9, 0)).unwrap();
    c.check_in(&ub, at(9, 30)).unwrap();
    let d = c.diary(at(9, 31)).unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].venue_name, "Highlands Coffee");
    assert!(d[0].checked_in);
    assert!(!d[1].checked_in);
    assert_eq!(d[1].departure, at(9, 30).0);
}

#[test]
fn diary_delete_one_and_all() {
    let mut w = World::new(BASE);
    let mut venue = w.venue("Phở Thìn", Category::Restaurant);
    let mut c = pinned_client(&w, 1);
    let u1 = w.code_url(&mut venue, at(9, 0));
    let u2 = w.code_url(&mut venue, at(15, 0));
    let v1 = c.check_in(&u1, at(9, 0)).unwrap();
    let v2 = c.check_in(&u2, at(15, 0)).unwrap();
    c.delete_check_in(v1.id).unwrap();
    let d = c.diary(at(15, 1)).unwrap();
    assert_eq!(d.iter().map(|x| x.id).collect::<Vec<_>>(), vec![v2.id]);
    assert!(matches!(
        c.delete_check_in(v1.id),
        Err(ClientError::NoSuchCheckIn(_))
    ));
    c.delete_all().unwrap();
    assert!(c.diary(at(15, 1)).unwrap().is_empty());
    assert!(quet_client::Store::check_ins(c.store()).unwrap().is_empty());
}

#[test]
fn purges_after_retention_period() {
    let mut w = World::new(BASE);
    let mut venue = w.venue("Phở Thìn", Category::Restaurant);
    let mut c = pinned_client(&w, 1);
    let url = w.code_url(&mut venue, at(9, 0));
    c.check_in(&url, at(9, 0)).unwrap();
    let day = 86_400;
    assert_eq!(c.purge(UnixTime(at(9, 0).0 + 13 * day)).unwrap(), 0);
    assert_eq!(c.diary(UnixTime(at(9, 0).0 + 13 * day)).unwrap().len(), 1);
    assert_eq!(c.purge(UnixTime(at(10, 0).0 + 14 * day)).unwrap(), 1);
    assert!(
        c.diary(UnixTime(at(10, 0).0 + 14 * day))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn retention_is_configurable_between_10_and_21_days() {
    let mut w = World::new(BASE);
    let mut venue = w.venue("Phở Thìn", Category::Restaurant);
    let mut c = pinned_client(&w, 1);
    assert!(matches!(
        c.set_retention_days(9),
        Err(ClientError::InvalidSetting(_))
    ));
    assert!(matches!(
        c.set_retention_days(22),
        Err(ClientError::InvalidSetting(_))
    ));
    c.set_retention_days(10).unwrap();
    assert_eq!(c.retention_days().unwrap(), 10);
    let url = w.code_url(&mut venue, at(9, 0));
    c.check_in(&url, at(9, 0)).unwrap();
    assert_eq!(c.purge(UnixTime(at(10, 0).0 + 10 * 86_400)).unwrap(), 1);
}

#[test]
fn authority_update_must_be_signed_by_the_pinned_keys() {
    let w = World::new(BASE);
    let mut c = pinned_client(&w, 1);
    // Same id, different keys: refused.
    let other = World::with_seed(7, BASE);
    let e = c.pin_authority(&other.descriptor_bytes()).unwrap_err();
    assert_eq!(e.kind(), "bad_descriptor");
    assert_eq!(c.authorities().unwrap()[0], w.descriptor);
    // Re-pinning the same descriptor is fine; removing works once.
    c.pin_authority(&w.descriptor_bytes()).unwrap();
    c.remove_authority(w.descriptor.id.0).unwrap();
    assert!(c.authorities().unwrap().is_empty());
    assert!(matches!(
        c.remove_authority(w.descriptor.id.0),
        Err(ClientError::UnknownAuthority(_))
    ));
}

#[test]
fn qr_photo_check_in() {
    let mut w = World::new(BASE);
    let mut venue = w.venue("Phở Thìn", Category::Restaurant);
    let mut c = pinned_client(&w, 1);
    let url = w.code_url(&mut venue, at(12, 0));
    let qr =
        qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M).unwrap();
    let n = qr.width();
    let colors = qr.to_colors();
    let scale = 4;
    let quiet = 4;
    let size = (n + 2 * quiet) * scale;
    let mut img = image::GrayImage::from_pixel(size as u32, size as u32, image::Luma([255]));
    for (i, col) in colors.iter().enumerate() {
        if *col == qrcode::Color::Dark {
            let (x, y) = (i % n + quiet, i / n + quiet);
            for dy in 0..scale {
                for dx in 0..scale {
                    img.put_pixel(
                        (x * scale + dx) as u32,
                        (y * scale + dy) as u32,
                        image::Luma([0]),
                    );
                }
            }
        }
    }
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let text = quet_client::qr::decode_image(&png).unwrap();
    assert_eq!(
        CheckInCode::bytes_from_text(&text).unwrap(),
        CheckInCode::bytes_from_text(&url).unwrap()
    );
    let v = c.check_in(&text, at(12, 0)).unwrap();
    assert_eq!(v.venue_name, "Phở Thìn");
    let blank = image::GrayImage::from_pixel(64, 64, image::Luma([255]));
    let mut png = Vec::new();
    blank
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    assert!(matches!(
        quet_client::qr::decode_image(&png),
        Err(ClientError::Image(_))
    ));
}
