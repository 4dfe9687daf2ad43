//! Issue 28's storing measurement, through `scripts/bench` (needs moto): the
//! report worker's peak memory while it stores a report of about 200 MB of
//! JSON (target: at most 64 MB over its idle RSS), and the rows it stores
//! per second.
//!
//! The worker's own storing code (`ReportFiles::store`, release build) runs in
//! this process alone: it downloads a gzipped DAILY report (31 days, each
//! campaign's rows across all days in turn, so every day's file stays open)
//! from a local server that streams it from disk, and writes the day files
//! into a versioned moto bucket. Idle RSS is read after a small report has
//! connected and warmed the clients; the peak is the process's high-water
//! mark (`VmHWM`).
//!
//! Prints the figures and writes
//! `$CARGO_TARGET_DIR/bench-results/report_storing.jsonl` (row 16 of
//! `scripts/bench_table.py`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use adsconnect::files::{Destination, MetricColumns, ReportFiles};
use adsconnect_dev::provision;
use adsconnect_tests::moto_endpoint;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::json;

const REPORT_BYTES: u64 = 200 << 20;
const METRICS: MetricColumns = MetricColumns {
    impressions: &["impressions"],
    clicks: &["clicks"],
    spend: &["cost"],
    sales: &["sales14d"],
};

fn destination<'a>(pull: &'a str, start_date: &'a str, end_date: &'a str) -> Destination<'a> {
    Destination {
        prefix: "USER#user_2benchStoring/123456/spCampaigns",
        pull,
        metrics: &METRICS,
        start_date,
        end_date,
    }
}

/// The worker's files adapter on a fresh versioned bucket, made as the
/// local stack makes its report bucket.
async fn report_files() -> ReportFiles {
    let s3 = adsconnect::startup::s3_client(&provision::emulator_config(&moto_endpoint()));
    let name = format!("reports-{}", uuid::Uuid::new_v4().simple());
    provision::ensure_report_bucket(&s3, &name).await.unwrap();
    let http = adsconnect::tls::http_client().build().unwrap();
    ReportFiles::new(s3, &name, http)
}

/// Writes a gzipped DAILY report of at least `size` bytes of JSON over
/// `days` days of July 2024 to `file`, a row at a time; its row count and
/// JSON size.
fn write_report(file: &Path, size: u64, days: u32) -> (u64, u64) {
    let out = std::io::BufWriter::new(std::fs::File::create(file).unwrap());
    let mut gz = GzEncoder::new(out, Compression::fast());
    let (mut rows, mut written) = (0_u64, 1_u64);
    gz.write_all(b"[").unwrap();
    'campaigns: for campaign in 0_u64.. {
        for day in 1..=days {
            let row = json!({
                "date": format!("2024-07-{day:02}"), "campaignId": 123042566401569500 + campaign,
                "campaignName": format!("Campaign {campaign} - exact match, summer"),
                "campaignStatus": "ENABLED", "campaignBudgetAmount": 50.0,
                "impressions": 1000 + campaign % 997, "clicks": campaign % 31, "cost": 12.34,
                "sales14d": 56.78, "purchases14d": campaign % 5, "clickThroughRate": 0.0123,
                "costPerClick": 0.89, "unitsSoldClicks14d": campaign % 7,
            })
            .to_string();
            if rows > 0 {
                gz.write_all(b",").unwrap();
                written += 1;
            }
            gz.write_all(row.as_bytes()).unwrap();
            rows += 1;
            written += row.len() as u64;
            if written >= size {
                break 'campaigns;
            }
        }
    }
    gz.write_all(b"]").unwrap();
    gz.finish().unwrap().flush().unwrap();
    (rows, written + 1)
}

/// Serves `file` from disk in 64 KB chunks (as Amazon's URL streams it,
/// never whole in memory): its URL.
async fn serve_file(file: PathBuf) -> String {
    let route = axum::routing::get(move || {
        let mut reader = std::fs::File::open(&file).unwrap();
        let chunks = futures::stream::iter(std::iter::from_fn(move || {
            let mut chunk = vec![0; 64 << 10];
            let read = reader.read(&mut chunk).unwrap();
            chunk.truncate(read);
            (read > 0).then(|| Ok::<_, std::io::Error>(axum::body::Bytes::from(chunk)))
        }));
        async move { axum::body::Body::from_stream(chunks) }
    });
    let app = axum::Router::new().route("/report.json.gz", route);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/report.json.gz")
}

/// A `/proc/self/status` line's kB.
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line[field.len()..]
        .trim()
        .trim_end_matches(" kB")
        .parse()
        .unwrap()
}

fn results_path() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let dir = PathBuf::from(target).join("bench-results");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("report_storing.jsonl")
}

#[tokio::main]
async fn main() {
    // `cargo test --all-targets` runs bench targets too; only `cargo bench` measures.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("report-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir(&dir).unwrap();
    let (small, large) = (dir.join("small.json.gz"), dir.join("large.json.gz"));
    write_report(&small, 64 << 10, 3);
    let (rows, uncompressed) = write_report(&large, REPORT_BYTES, 31);
    let gzipped = std::fs::metadata(&large).unwrap().len();
    let files = report_files().await;

    // Clients connected and warmed up on a small report first.
    let warm_up = serve_file(small).await;
    files
        .store(&warm_up, &destination("warm/0", "2024-07-01", "2024-07-03"))
        .await
        .unwrap();
    let url = serve_file(large).await;
    let idle_kb = status_kb("VmRSS:");
    let started = Instant::now();
    let stored = files
        .store(&url, &destination("large/0", "2024-07-01", "2024-07-31"))
        .await
        .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let peak_kb = status_kb("VmHWM:");
    assert_eq!(stored.iter().map(|f| f.rows).sum::<u64>(), rows);
    let stored_bytes: u64 = stored.iter().map(|f| f.bytes).sum();
    let rows_per_s = rows as f64 / seconds;
    println!(
        "report: {rows} rows, {uncompressed} bytes of JSON, {gzipped} gzipped; stored {} day \
         files, {stored_bytes} bytes, in {seconds:.1} s ({rows_per_s:.0} rows/s); \
         idle RSS {idle_kb} kB, peak {peak_kb} kB: +{} kB",
        stored.len(),
        peak_kb.saturating_sub(idle_kb),
    );
    let line = json!({
        "row": 16,
        "rows": rows,
        "uncompressed_bytes": uncompressed,
        "gzipped_bytes": gzipped,
        "days": stored.len(),
        "stored_bytes": stored_bytes,
        "seconds": seconds,
        "rows_per_s": rows_per_s,
        "idle_rss_kb": idle_kb,
        "peak_rss_kb": peak_kb,
    });
    std::fs::write(results_path(), format!("{line}\n")).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
