//! A completed report's file and its pre-signed URL (reference
//! amazon-reporting.md §3, §4): a gzip JSON array of flat rows
//! keyed by exactly the requested columns (CSV for a DSP report that asked
//! for it), written once when the report completes; numbers deterministic
//! from (account, report type, date, row) and restated by each later report
//! covering a date, as Amazon restates traffic and conversions; DSP ids
//! above 2^53.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;

use chrono::{DateTime, NaiveDate, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Map, Value};

use super::reports_request::ReportRequest;

/// What a completing report's file holds.
pub(super) struct FileOrder {
    account: String,
    request: ReportRequest,
    /// Each date of the range and how many reports covered it so far,
    /// this one included.
    days: Vec<(NaiveDate, u32)>,
    rows_per_day: usize,
    padding_bytes: usize,
}

/// One row's numbers on one date, the traffic and conversions consistent
/// with one another.
struct Numbers {
    impressions: u64,
    clicks: u64,
    conversions: u64,
    cost_cents: u64,
    sales_cents: u64,
}

fn hash_of(parts: impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    parts.hash(&mut hasher);
    hasher.finish()
}

impl FileOrder {
    pub(super) fn new(
        account: &str,
        request: ReportRequest,
        days: Vec<(NaiveDate, u32)>,
        rows_per_day: usize,
        padding_bytes: usize,
    ) -> Self {
        Self {
            account: account.to_owned(),
            request,
            days,
            rows_per_day,
            padding_bytes,
        }
    }

    /// The gzip file, rows streamed into the encoder (never a whole
    /// uncompressed copy in memory) at a fast level: 100 MB of rows take
    /// about 6 s in a debug build.
    pub(super) fn write(&self) -> Vec<u8> {
        let mut out = std::io::BufWriter::new(GzEncoder::new(Vec::new(), Compression::fast()));
        self.write_rows(&mut out)
            .and_then(|()| {
                out.into_inner()
                    .map_err(std::io::IntoInnerError::into_error)
            })
            .and_then(GzEncoder::finish)
            .expect("writing to memory does not fail")
    }

    fn write_rows(&self, out: &mut impl Write) -> std::io::Result<()> {
        let columns = &self.request.columns;
        let (first, last) = (self.request.start, self.request.end);
        // A summary is one group over the whole range, at its latest pull.
        let groups: Vec<(NaiveDate, u32, u64)> = if self.request.daily {
            self.days
                .iter()
                .map(|&(day, pull)| (day, pull, 1))
                .collect()
        } else {
            let pull = self.days.iter().map(|&(_, pull)| pull).max().unwrap_or(1);
            vec![(first, pull, self.days.len().try_into().unwrap_or(1))]
        };
        let padding = vec![b' '; self.padding_bytes];
        if self.request.csv {
            writeln!(out, "{}", columns.join(","))?;
        } else {
            out.write_all(b"[")?;
        }
        let mut separator: &[u8] = b"";
        for (day, pull, span) in groups {
            let (from, to) = if self.request.daily {
                (day, day)
            } else {
                (first, last)
            };
            for row in 0..self.rows_per_day {
                let numbers = self.numbers(day, row, pull, span);
                let cells = columns.iter().map(|column| {
                    (
                        column.clone(),
                        self.cell(column, row, day, from, to, &numbers),
                    )
                });
                if self.request.csv {
                    let line: Vec<String> = cells
                        .map(|(_, cell)| match cell {
                            Value::String(text) => text,
                            other => other.to_string(),
                        })
                        .collect();
                    writeln!(out, "{}", line.join(","))?;
                } else {
                    out.write_all(separator)?;
                    serde_json::to_writer(&mut *out, &cells.collect::<Map<_, _>>())?;
                    // Whitespace between values keeps the columns exact.
                    out.write_all(&padding)?;
                    separator = b",";
                }
            }
        }
        if !self.request.csv {
            out.write_all(b"]")?;
        }
        Ok(())
    }

    /// Row `row`'s numbers on `day` at the `pull`th report covering it:
    /// clicks move a little and conversions and sales grow with each
    /// restatement; a summary spans `span` days.
    fn numbers(&self, day: NaiveDate, row: usize, pull: u32, span: u64) -> Numbers {
        let seed = hash_of((&self.account, &self.request.report_type, day, row));
        let restated = u64::from(pull.saturating_sub(1));
        let impressions = 1_000 + seed % 20_000;
        let clicks = impressions / 40 + restated;
        let conversions = clicks / 8 * (100 + 15 * restated) / 100 + restated;
        Numbers {
            impressions: impressions * span,
            clicks: clicks * span,
            conversions: conversions * span,
            cost_cents: clicks * span * (30 + seed % 170),
            sales_cents: conversions * span * (1_500 + seed % 3_000),
        }
    }

    fn cell(
        &self,
        column: &str,
        row: usize,
        day: NaiveDate,
        from: NaiveDate,
        to: NaiveDate,
        numbers: &Numbers,
    ) -> Value {
        match column {
            "date" => day.to_string().into(),
            "startDate" | "intervalStart" => from.to_string().into(),
            "endDate" | "intervalEnd" => to.to_string().into(),
            "advertiserId" if !self.request.advertisers.is_empty() => {
                let advertiser = &self.request.advertisers[row % self.request.advertisers.len()];
                advertiser
                    .parse::<u64>()
                    .map_or_else(|_| advertiser.clone().into(), Value::from)
            }
            _ if column.ends_with("Id") => self.id(column, row).into(),
            _ => metric(column, numbers)
                .unwrap_or_else(|| format!("{column} {}", self.id(column, row) % 1_000).into()),
        }
    }

    /// The same entity's id every day: SP/SB/SD ids are 15 digits (below
    /// 2^53), DSP ids 18 digits (above it, so a double would round them).
    fn id(&self, column: &str, row: usize) -> u64 {
        let seed = hash_of((&self.account, column, row));
        if self.request.dsp {
            100_000_000_000_000_000 + seed % 800_000_000_000_000_000
        } else {
            100_000_000_000_000 + seed % 900_000_000_000_000
        }
    }
}

/// A known metric's value: the name's kind, once an attribution window
/// (`purchases14d`, `sales7d`) is set aside; `None` for any other column.
fn metric(column: &str, n: &Numbers) -> Option<Value> {
    let lower = column.to_ascii_lowercase();
    let stem = match lower.strip_suffix('d') {
        Some(windowed) if windowed.ends_with(|c: char| c.is_ascii_digit()) => {
            windowed.trim_end_matches(|c: char| c.is_ascii_digit())
        }
        _ => &lower,
    };
    let ends = |names: &[&str]| names.iter().any(|name| stem.ends_with(name));
    let ratio = |part: u64, whole: u64| {
        let value = if whole == 0 {
            0.0
        } else {
            part as f64 / whole as f64
        };
        Value::from((value * 10_000.0).round() / 10_000.0)
    };
    let money = |cents: u64| Value::from(cents as f64 / 100.0);
    Some(if ends(&["ctr"]) {
        ratio(n.clicks, n.impressions)
    } else if ends(&["roas"]) {
        ratio(n.sales_cents, n.cost_cents)
    } else if ends(&["acos"]) {
        ratio(n.cost_cents, n.sales_cents)
    } else if ends(&["cpc"]) {
        ratio(n.cost_cents, n.clicks * 100)
    } else if ends(&["rate", "percentage"]) {
        ratio(n.conversions, n.clicks)
    } else if ends(&["cost", "spend", "fee", "fees"]) {
        money(n.cost_cents)
    } else if ends(&["sales"]) {
        money(n.sales_cents)
    } else if ends(&[
        "purchases",
        "unitssold",
        "orders",
        "conversions",
        "detailpageviews",
        "dpv",
        "addtocart",
    ]) {
        n.conversions.into()
    } else if ends(&["impressions"]) {
        n.impressions.into()
    } else if ends(&["clicks"]) {
        n.clicks.into()
    } else {
        return None;
    })
}

/// A pre-signed-looking URL for report `report`'s file on the stand-in at
/// `base`, and its signature (what the download checks).
pub(super) fn presigned_url(
    base: &str,
    report: &str,
    extension: &str,
    issued: DateTime<Utc>,
    lifetime_seconds: u64,
) -> (String, String) {
    let signature = format!(
        "{:032x}{:032x}",
        rand::random::<u128>(),
        rand::random::<u128>()
    );
    let token = format!("IQoJb3JpZ2luX2VjE{}", uuid::Uuid::new_v4().simple());
    let credential = format!(
        "ASIASTANDIN{:09}/{}/us-east-1/s3/aws4_request",
        rand::random::<u32>() % 1_000_000_000,
        issued.format("%Y%m%d")
    );
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("X-Amz-Algorithm", "AWS4-HMAC-SHA256")
        .append_pair("X-Amz-Date", &issued.format("%Y%m%dT%H%M%SZ").to_string())
        .append_pair("X-Amz-SignedHeaders", "host")
        .append_pair("X-Amz-Expires", &lifetime_seconds.to_string())
        .append_pair("X-Amz-Credential", &credential)
        .append_pair("X-Amz-Security-Token", &token)
        .append_pair("X-Amz-Signature", &signature)
        .finish();
    (
        format!("{base}/_s3/reports/{report}.{extension}?{query}"),
        signature,
    )
}
