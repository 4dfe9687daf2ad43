//! One report's rows split by day into gzipped JSON-lines files on disk,
//! counted and totalled on the way. Runs on a blocking thread: it reads the
//! decompressed report as it arrives and keeps one row in memory at a time.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Deserializer as _;
use serde::de::{Error as _, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::model::report::Totals;

/// Partitions one report may fill: sbPurchasedProduct's 731-day range, a
/// summary, and room to spare. More is not a report we asked for.
pub const MAX_DAYS: usize = 800;
/// Gzip encoders kept open at once (each holds a few hundred KB of deflate
/// state). Any 31-day report fits; a day evicted and met again continues
/// in a new gzip member of the same file (gzip readers read members in a row).
const OPEN_ENCODERS: usize = 32;

/// Which columns hold the main metrics: per row, the first column present
/// (and not null) counts, e.g. spend `["cost", "totalCost"]`.
#[derive(Debug, Clone, Copy)]
pub struct MetricColumns {
    pub impressions: &'static [&'static str],
    pub clicks: &'static [&'static str],
    pub spend: &'static [&'static str],
    pub sales: &'static [&'static str],
}

/// Adds `row`'s main metrics (per [`MetricColumns`]) to `totals`.
fn add_row(
    totals: &mut Totals,
    row: &Map<String, Value>,
    metrics: &MetricColumns,
) -> Result<(), String> {
    let count = |columns| match first_number(row, columns)? {
        None => Ok(0),
        Some((column, number)) => whole(number)
            .ok_or_else(|| format!("column {column} is not a whole number of events in a row")),
    };
    let amount = |columns| {
        Ok::<_, String>(first_number(row, columns)?.map_or(0.0, |(_, n)| n.as_f64().unwrap_or(0.0)))
    };
    totals.impressions += count(metrics.impressions)?;
    totals.clicks += count(metrics.clicks)?;
    totals.spend += amount(metrics.spend)?;
    totals.sales += amount(metrics.sales)?;
    Ok(())
}

fn first_number<'r>(
    row: &'r Map<String, Value>,
    columns: &'static [&'static str],
) -> Result<Option<(&'static str, &'r Number)>, String> {
    for &column in columns {
        match row.get(column) {
            None | Some(Value::Null) => continue,
            Some(Value::Number(number)) => return Ok(Some((column, number))),
            Some(_) => return Err(format!("column {column} is not a number in a row")),
        }
    }
    Ok(None)
}

/// A count Amazon may write as `12` or `12.0`.
fn whole(number: &Number) -> Option<u64> {
    number.as_u64().or_else(|| {
        let float = number.as_f64()?;
        (float >= 0.0 && float.fract() == 0.0 && float < u64::MAX as f64).then_some(float as u64)
    })
}

/// Where a row is kept: its `date`, or the summary of a report without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Partition {
    Day(NaiveDate),
    Summary,
}

/// One partition's rows, gzipped JSON lines at `path`.
#[derive(Debug)]
pub struct PartFile {
    pub partition: Partition,
    pub path: PathBuf,
    pub rows: u64,
    pub totals: Totals,
}

#[derive(Debug)]
pub enum SplitError {
    /// Reading the report failed: the download (see `super::download`)
    /// or its gzip layer.
    Input(io::Error),
    /// Not a JSON array of objects, or more than we accept.
    Malformed(String),
    /// Our temporary files failed.
    Write(io::Error),
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Input(e) => write!(f, "reading the report: {e}"),
            Self::Malformed(why) => f.write_str(why),
            Self::Write(e) => write!(f, "writing a temporary file: {e}"),
        }
    }
}

/// Reads one JSON array of row objects from `json` (already decompressed)
/// and writes each row, as one line, to its partition's file under `dir`.
/// Files come back in date order, the summary last.
pub fn split(
    json: impl Read,
    metrics: &MetricColumns,
    dir: &Path,
) -> Result<Vec<PartFile>, SplitError> {
    let mut sink = Sink {
        dir,
        metrics,
        parts: BTreeMap::new(),
        open: Vec::new(),
        failure: None,
    };
    let mut json = serde_json::Deserializer::from_reader(BufReader::new(json));
    let parsed = json
        .deserialize_seq(Rows(&mut sink))
        .and_then(|()| json.end());
    if let Some(failure) = sink.failure.take() {
        return Err(failure);
    }
    parsed.map_err(|e| {
        if e.is_io() {
            SplitError::Input(e.into())
        } else if e.is_eof() {
            SplitError::Malformed("the report's JSON ends early".into())
        } else {
            // serde_json's message may quote the content: position only.
            SplitError::Malformed(format!(
                "not a JSON array of objects (line {}, column {})",
                e.line(),
                e.column()
            ))
        }
    })?;
    sink.finish()
}

/// Visits the top-level array, handing each row to the sink as it is read.
struct Rows<'s, 'a>(&'s mut Sink<'a>);

impl<'de> Visitor<'de> for Rows<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut rows: A) -> Result<(), A::Error> {
        while let Some(row) = rows.next_element::<Map<String, Value>>()? {
            if let Err(failure) = self.0.write(&row) {
                self.0.failure = Some(failure);
                return Err(A::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

/// Rows are serialized a token at a time: the outer buffer hands deflate
/// whole blocks (a call per token is several times slower).
type Encoder = BufWriter<GzEncoder<BufWriter<File>>>;
const ROWS_BUFFER: usize = 32 << 10;

struct Sink<'a> {
    dir: &'a Path,
    metrics: &'a MetricColumns,
    parts: BTreeMap<Partition, PartFile>,
    /// Open encoders, least recently used first.
    open: Vec<(Partition, Encoder)>,
    failure: Option<SplitError>,
}

impl Sink<'_> {
    fn write(&mut self, row: &Map<String, Value>) -> Result<(), SplitError> {
        let partition = partition_of(row)?;
        let part = match self.parts.get_mut(&partition) {
            Some(part) => part,
            None => {
                if self.parts.len() == MAX_DAYS {
                    return Err(SplitError::Malformed(format!(
                        "the report spans more than {MAX_DAYS} days"
                    )));
                }
                let path = self.dir.join(format!("{}.json.gz", self.parts.len()));
                self.parts.entry(partition).or_insert(PartFile {
                    partition,
                    path,
                    rows: 0,
                    totals: Totals::default(),
                })
            }
        };
        add_row(&mut part.totals, row, self.metrics).map_err(SplitError::Malformed)?;
        part.rows += 1;
        let path = part.path.clone();
        let encoder = self.encoder(partition, &path).map_err(SplitError::Write)?;
        serde_json::to_writer(&mut *encoder, row).map_err(|e| SplitError::Write(e.into()))?;
        encoder.write_all(b"\n").map_err(SplitError::Write)
    }

    /// The partition's open encoder, opening (appending to) its file if
    /// needed and closing the least recently used one to make room.
    fn encoder(&mut self, partition: Partition, path: &Path) -> io::Result<&mut Encoder> {
        // Rows usually come grouped: the last used one is the likeliest.
        match self.open.iter().rposition(|(p, _)| *p == partition) {
            Some(last) if last + 1 == self.open.len() => {}
            Some(at) => {
                let entry = self.open.remove(at);
                self.open.push(entry);
            }
            None => {
                if self.open.len() == OPEN_ENCODERS {
                    let (_, evicted) = self.open.remove(0);
                    close(evicted)?;
                }
                let file = OpenOptions::new().create(true).append(true).open(path)?;
                let encoder = GzEncoder::new(BufWriter::new(file), Compression::default());
                self.open
                    .push((partition, BufWriter::with_capacity(ROWS_BUFFER, encoder)));
            }
        }
        let last = self.open.len() - 1;
        Ok(&mut self.open[last].1)
    }

    fn finish(mut self) -> Result<Vec<PartFile>, SplitError> {
        for (_, encoder) in self.open.drain(..) {
            close(encoder).map_err(SplitError::Write)?;
        }
        Ok(self.parts.into_values().collect())
    }
}

/// Ends the encoder's gzip member and writes everything to its file.
fn close(encoder: Encoder) -> io::Result<()> {
    encoder
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?
        .finish()?
        .flush()
}

fn partition_of(row: &Map<String, Value>) -> Result<Partition, SplitError> {
    match row.get("date") {
        None | Some(Value::Null) => Ok(Partition::Summary),
        Some(Value::String(date)) => parse_day(date)
            .map(Partition::Day)
            .ok_or_else(|| SplitError::Malformed("a row's date is not YYYY-MM-DD".into())),
        Some(_) => Err(SplitError::Malformed("a row's date is not a string".into())),
    }
}

/// A `YYYY-MM-DD` day, exactly (it becomes part of an object key).
pub fn parse_day(text: &str) -> Option<NaiveDate> {
    (text.len() == 10)
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use std::io::BufRead;

    use flate2::read::MultiGzDecoder;

    use super::*;

    const METRICS: MetricColumns = MetricColumns {
        impressions: &["impressions"],
        clicks: &["clicks"],
        spend: &["cost", "totalCost"],
        sales: &["sales14d"],
    };

    fn split_text(json: &str) -> (tempfile::TempDir, Result<Vec<PartFile>, SplitError>) {
        let dir = tempfile::tempdir().unwrap();
        let parts = split(json.as_bytes(), &METRICS, dir.path());
        (dir, parts)
    }

    fn lines(part: &PartFile) -> Vec<String> {
        let file = File::open(&part.path).unwrap();
        io::BufReader::new(MultiGzDecoder::new(file))
            .lines()
            .map(Result::unwrap)
            .collect()
    }

    fn malformed(json: &str) -> String {
        match split_text(json).1 {
            Err(SplitError::Malformed(why)) => why,
            other => panic!("not malformed: {other:?}"),
        }
    }

    fn day(text: &str) -> Partition {
        Partition::Day(parse_day(text).unwrap())
    }

    #[test]
    fn rows_go_to_their_day_in_date_order_with_totals() {
        let (_dir, parts) = split_text(
            r#"[{"date":"2024-07-02","campaignId":1,"impressions":10,"clicks":2,"cost":1.25,"sales14d":5},
                {"date":"2024-07-01","campaignId":1,"impressions":7,"clicks":1,"totalCost":0.5},
                {"date":"2024-07-02","campaignId":2,"impressions":3.0,"clicks":0,"cost":null,"totalCost":2.5,"sales14d":null}]"#,
        );
        let parts = parts.unwrap();
        let summary: Vec<_> = parts
            .iter()
            .map(|p| (p.partition, p.rows, p.totals))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    day("2024-07-01"),
                    1,
                    Totals {
                        impressions: 7,
                        clicks: 1,
                        spend: 0.5,
                        sales: 0.0
                    }
                ),
                (
                    day("2024-07-02"),
                    2,
                    Totals {
                        impressions: 13,
                        clicks: 2,
                        spend: 3.75,
                        sales: 5.0
                    }
                ),
            ]
        );
        assert_eq!(
            lines(&parts[1]),
            [
                r#"{"campaignId":1,"clicks":2,"cost":1.25,"date":"2024-07-02","impressions":10,"sales14d":5}"#,
                r#"{"campaignId":2,"clicks":0,"cost":null,"date":"2024-07-02","impressions":3.0,"sales14d":null,"totalCost":2.5}"#,
            ]
        );
    }

    #[test]
    fn rows_without_a_date_are_the_summary() {
        let (_dir, parts) = split_text(
            r#"[{"campaignId":1,"impressions":10,"startDate":"2024-07-01"},{"campaignId":2,"clicks":4}]"#,
        );
        let parts = parts.unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].partition, Partition::Summary);
        assert_eq!(parts[0].rows, 2);
        assert_eq!(
            (parts[0].totals.impressions, parts[0].totals.clicks),
            (10, 4)
        );
    }

    #[test]
    fn an_empty_report_has_no_files() {
        assert!(split_text(" [ ] \n").1.unwrap().is_empty());
    }

    #[test]
    fn ids_and_amounts_print_back_exactly() {
        let row = r#"{"cost":12.34,"date":"2024-07-01","negative":-9223372036854775808,"orderId":123042566401569500,"spend":0.1,"top":18446744073709551615}"#;
        let (_dir, parts) = split_text(&format!("[{row}]"));
        assert_eq!(lines(&parts.unwrap()[0]), [row]);
    }

    #[test]
    fn amounts_with_up_to_four_decimals_round_trip() {
        for cents in (0..2_000_000_u64).step_by(7) {
            for text in [
                format!("{}.{:02}", cents / 100, cents % 100),
                format!("{}.{:04}", cents / 10_000, cents % 10_000),
            ] {
                let value: Value = serde_json::from_str(&text).unwrap();
                let printed = serde_json::to_string(&value).unwrap();
                assert_eq!(
                    printed.parse::<f64>().unwrap(),
                    text.parse::<f64>().unwrap(),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn days_met_again_after_eviction_continue_the_same_file() {
        let days: Vec<String> = (1..=40)
            .map(|d| format!("2024-{:02}-{:02}", 1 + (d - 1) / 28, 1 + (d - 1) % 28))
            .collect();
        let rows: Vec<String> = (0..3)
            .flat_map(|round| {
                days.iter()
                    .map(move |d| format!(r#"{{"date":"{d}","round":{round},"clicks":1}}"#))
            })
            .collect();
        let (_dir, parts) = split_text(&format!("[{}]", rows.join(",")));
        let parts = parts.unwrap();
        assert_eq!(parts.len(), 40);
        for part in &parts {
            assert_eq!((part.rows, part.totals.clicks), (3, 3));
            let rounds: Vec<String> = lines(part)
                .into_iter()
                .map(|l| l[l.find("round").unwrap()..].to_owned())
                .collect();
            assert_eq!(rounds, [r#"round":0}"#, r#"round":1}"#, r#"round":2}"#]);
        }
    }

    #[test]
    fn more_days_than_a_report_spans_are_refused() {
        let start = parse_day("2020-01-01").unwrap();
        let rows: Vec<String> = (0..=MAX_DAYS as u64)
            .map(|d| format!(r#"{{"date":"{}"}}"#, start + chrono::Days::new(d)))
            .collect();
        assert!(malformed(&format!("[{}]", rows.join(","))).contains("more than 800 days"));
    }

    #[test]
    fn anything_but_an_array_of_rows_is_malformed_without_its_content() {
        for json in [
            r#"{"secret":"value"}"#,
            r#"["secret"]"#,
            r#"[{"date":"secret"}]"#,
            r#"[{"date":20240701}]"#,
            r#"[{"date":"2024-7-1"}]"#,
            r#"[{"impressions":"secret"}]"#,
            r#"[{"clicks":1.5}]"#,
            r#"[{"a":1}] secret"#,
            r#"[{"a":1},"#,
        ] {
            let why = malformed(json);
            assert!(!why.contains("secret"), "{why}");
        }
    }
}
