//! The opt-in heartbeat posts exactly `{day, pseudonym, category, district}` to
//! `POST /v1/heartbeats` (spec/api.md), with a pseudonym that changes every day,
//! and a failing server is an error, never a panic.

mod common;

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use common::*;
use quet_protocol::category::Category;
use quet_protocol::time::Day;
use quet_venue::heartbeat::{check_district, send_heartbeat};

type Seen = Arc<Mutex<Vec<serde_json::Value>>>;

async fn receive(
    State(s): State<Seen>,
    axum::Json(v): axum::Json<serde_json::Value>,
) -> StatusCode {
    s.lock().unwrap().push(v);
    StatusCode::NO_CONTENT
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_carry_only_category_district_and_a_daily_pseudonym() {
    let mut w = World::new();
    let v = w.venue("v.json", Category::Gym);
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route("/v1/heartbeats", axum::routing::post(receive))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let master = v.master().clone();
    let b = base.clone();
    tokio::task::spawn_blocking(move || {
        for d in [20_717, 20_718] {
            send_heartbeat(&b, &master, Day(d), Category::Gym, "Hoàn Kiếm").unwrap();
        }
    })
    .await
    .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    for (s, d) in seen.iter().zip([20_717u32, 20_718]) {
        let obj = s.as_object().unwrap();
        let mut keys: Vec<_> = obj.keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["category", "day", "district", "pseudonym"]);
        assert_eq!(s["day"], d);
        assert_eq!(s["category"], "gym");
        assert_eq!(s["district"], "Hoàn Kiếm");
        let p = s["pseudonym"].as_str().unwrap();
        assert_eq!(p.len(), 32);
        assert_eq!(
            p,
            data_encoding::HEXLOWER.encode(&v.master().heartbeat_pseudonym(Day(d)))
        );
    }
    assert_ne!(
        seen[0]["pseudonym"], seen[1]["pseudonym"],
        "pseudonym must change daily"
    );

    // A server that is down or refuses is an error the display logs, not a panic.
    let master = v.master().clone();
    tokio::task::spawn_blocking(move || {
        assert!(send_heartbeat("http://127.0.0.1:9", &master, Day(1), Category::Gym, "X").is_err());
        assert!(
            send_heartbeat(&format!("{base}/nope"), &master, Day(1), Category::Gym, "X").is_err()
        );
    })
    .await
    .unwrap();
    assert!(check_district("").is_err());
    assert!(check_district(&"x".repeat(65)).is_err());
    assert_eq!(check_district(" Ba Đình ").unwrap(), "Ba Đình");
}
