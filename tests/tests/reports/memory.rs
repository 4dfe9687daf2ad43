//! Peak memory storing a report of about 200 MB uncompressed: a
//! measurement (issue 28's target: 64 MB over idle RSS), run alone by hand.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::json;

use crate::files::{Bucket, daily, destination, report, serve};

/// Peak memory storing a report of about 200 MB uncompressed (31 days,
/// every campaign's rows across all days in turn, so every day's file stays
/// open), served from disk in chunks. A measurement, run alone by hand:
/// `cargo test --release -p adsconnect-tests --test reports -- --ignored --nocapture peak_memory`.
#[tokio::test]
#[ignore = "a measurement: run by hand, with --release"]
async fn peak_memory_storing_a_200_mb_report() {
    let dir = std::env::temp_dir().join(format!("report-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir(&dir).unwrap();
    let file = dir.join("report.json.gz");
    let (rows, uncompressed) = write_report(&file, 200 << 20);
    let url = serve_file(file.clone()).await;
    let bucket = Bucket::new().await;
    // Clients connected and warmed up on a small report first.
    let (_amazon, small) = report(&daily(0)).await;
    let warm_up = destination("warm/0", "2024-07-01", "2024-07-03");
    bucket.files.store(&small, &warm_up).await.unwrap();
    let idle = status_kb("VmRSS:");
    let started = std::time::Instant::now();
    let to = destination("large/0", "2024-07-01", "2024-07-31");
    let stored = bucket.files.store(&url, &to).await.unwrap();
    let took = started.elapsed();
    let peak = status_kb("VmHWM:");
    let stored_bytes: u64 = stored.iter().map(|f| f.bytes).sum();
    println!(
        "report: {rows} rows, {uncompressed} bytes uncompressed, {} bytes gzipped; \
         stored {} days, {stored_bytes} bytes in {took:?} ({:.0} rows/s); \
         idle RSS {idle} kB, peak {peak} kB: +{} kB",
        std::fs::metadata(&file).unwrap().len(),
        stored.len(),
        rows as f64 / took.as_secs_f64(),
        peak - idle,
    );
    assert_eq!(stored.iter().map(|f| f.rows).sum::<u64>(), rows);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Writes a gzipped DAILY report of at least `size` bytes of JSON to
/// `file`, a row at a time; its row count and JSON size.
fn write_report(file: &std::path::Path, size: u64) -> (u64, u64) {
    let out = std::io::BufWriter::new(std::fs::File::create(file).unwrap());
    let mut gz = GzEncoder::new(out, Compression::fast());
    let (mut rows, mut written) = (0_u64, 1_u64);
    gz.write_all(b"[").unwrap();
    'campaigns: for campaign in 0_u64.. {
        for day in 1..=31 {
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

/// Serves `file` from disk in 64 KB chunks (never whole in memory): its URL.
async fn serve_file(file: std::path::PathBuf) -> String {
    use std::io::Read;
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
    serve(axum::Router::new().route("/report.json.gz", route)).await
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
