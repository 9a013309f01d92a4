//! `ReaderConfig.InputType: PARQUET`: the rows of an Apache Parquet object as a distributed Map's
//! items, one JSON object per row keyed by column name.
//!
//! What AWS documents (<https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html>):
//! a row group may be at most 256 MB and the footer at most 5 MB, larger files fail the execution;
//! GZIP, ZSTD and Snappy compression inside the file are read; `VersionId` is not supported. How
//! Parquet's types become JSON AWS does not document; this reader's mapping is in [`to_json`].

use base64::Engine as _;
use parquet::basic::Compression;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, Row};
use serde_json::{Map, Value};

/// AWS's largest row group: 256 MB.
pub(super) const MAX_ROW_GROUP_BYTES: u64 = 256 * 1024 * 1024;
/// AWS's largest footer (the file's metadata): 5 MB.
pub(super) const MAX_FOOTER_BYTES: u64 = 5 * 1024 * 1024;

/// The limits a Parquet object is read within.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub row_group_bytes: u64,
    pub footer_bytes: u64,
}

/// AWS's limits.
pub(super) const AWS_LIMITS: Limits = Limits {
    row_group_bytes: MAX_ROW_GROUP_BYTES,
    footer_bytes: MAX_FOOTER_BYTES,
};

/// The rows of the Parquet file `body`, each a JSON object; an error says what is wrong with the
/// file (not Parquet, over a limit, a codec AWS does not read, a value it cannot decode).
///
/// The `parquet` crate panics on some malformed files (a damaged footer or page) rather than
/// returning an error: such a panic is caught here and reported as a file that cannot be read.
pub(super) fn rows(body: &[u8], limits: Limits) -> Result<Vec<Value>, String> {
    std::panic::catch_unwind(|| read_rows(body, limits)).unwrap_or_else(|_| {
        Err("The Parquet file cannot be read: its metadata or data is malformed".into())
    })
}

fn read_rows(body: &[u8], limits: Limits) -> Result<Vec<Value>, String> {
    // A Parquet file ends with its footer's length (4 bytes, little endian) and the magic `PAR1`.
    let n = body.len();
    if n < 12 || &body[..4] != b"PAR1" || &body[n - 4..] != b"PAR1" {
        return Err(
            "The object is not a Parquet file (it does not start and end with PAR1)".into(),
        );
    }
    let footer = u64::from(u32::from_le_bytes([
        body[n - 8],
        body[n - 7],
        body[n - 6],
        body[n - 5],
    ]));
    if footer > limits.footer_bytes {
        return Err(format!(
            "The Parquet file's footer is {footer} bytes, more than the {} bytes Step Functions reads",
            limits.footer_bytes
        ));
    }
    let reader = SerializedFileReader::new(bytes::Bytes::copy_from_slice(body))
        .map_err(|e| format!("The Parquet file cannot be read: {e}"))?;
    for (i, group) in reader.metadata().row_groups().iter().enumerate() {
        let size = u64::try_from(group.compressed_size()).unwrap_or(0);
        if size > limits.row_group_bytes {
            return Err(format!(
                "Row group {i} of the Parquet file is {size} bytes, more than the {} bytes Step Functions reads",
                limits.row_group_bytes
            ));
        }
        for column in group.columns() {
            let codec = column.compression();
            if !matches!(
                codec,
                Compression::UNCOMPRESSED
                    | Compression::SNAPPY
                    | Compression::GZIP(_)
                    | Compression::ZSTD(_)
            ) {
                return Err(format!(
                    "Column '{}' of the Parquet file is compressed with {}: Step Functions reads \
                     Parquet compressed with GZIP, ZSTD or Snappy",
                    column.column_path(),
                    codec_name(codec)
                ));
            }
        }
    }
    let iter = reader
        .get_row_iter(None)
        .map_err(|e| format!("The Parquet file cannot be read: {e}"))?;
    let mut items = Vec::new();
    for (i, row) in iter.enumerate() {
        let row =
            row.map_err(|e| format!("Row {} of the Parquet file cannot be read: {e}", i + 1))?;
        items.push(
            row_to_json(&row).map_err(|e| format!("Row {} of the Parquet file: {e}", i + 1))?,
        );
    }
    Ok(items)
}

fn codec_name(codec: Compression) -> &'static str {
    match codec {
        Compression::UNCOMPRESSED => "no compression",
        Compression::SNAPPY => "SNAPPY",
        Compression::GZIP(_) => "GZIP",
        Compression::LZO => "LZO",
        Compression::BROTLI(_) => "BROTLI",
        Compression::LZ4 => "LZ4",
        Compression::ZSTD(_) => "ZSTD",
        Compression::LZ4_RAW => "LZ4_RAW",
    }
}

fn row_to_json(row: &Row) -> Result<Value, String> {
    let mut object = Map::new();
    for (name, field) in row.get_column_iter() {
        object.insert(name.clone(), to_json(field)?);
    }
    Ok(Value::Object(object))
}

/// A Parquet value as JSON: null, booleans and integers as themselves; floating-point numbers as
/// numbers (NaN and the infinities, which JSON has no number for, as the strings `NaN`,
/// `Infinity`, `-Infinity`); decimals as numbers when their precision is at most 15 digits (a
/// double holds every such value exactly as written) and as strings of their digits otherwise;
/// strings as strings, other byte arrays in base64; dates as `YYYY-MM-DD`, times of day as
/// `HH:MM:SS.fff` (or `.ffffff`), timestamps as integer milliseconds since the epoch; groups as
/// objects, lists as arrays, maps as objects (a key that is not a string written as JSON text).
fn to_json(field: &Field) -> Result<Value, String> {
    Ok(match field {
        Field::Null => Value::Null,
        Field::Bool(b) => Value::Bool(*b),
        Field::Byte(n) => Value::from(*n),
        Field::Short(n) => Value::from(*n),
        Field::Int(n) => Value::from(*n),
        Field::Long(n) => Value::from(*n),
        Field::UByte(n) => Value::from(*n),
        Field::UShort(n) => Value::from(*n),
        Field::UInt(n) => Value::from(*n),
        Field::ULong(n) => Value::from(*n),
        Field::Float16(n) => float(f64::from(*n)),
        Field::Float(n) => float(f64::from(*n)),
        Field::Double(n) => float(*n),
        Field::Decimal(d) => decimal(d.data(), d.precision(), d.scale())?,
        Field::Str(s) => Value::String(s.clone()),
        Field::Bytes(b) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b.data()))
        }
        Field::Date(days) => {
            let date = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
                .and_then(|epoch| {
                    epoch.checked_add_signed(chrono::TimeDelta::try_days(i64::from(*days))?)
                })
                .ok_or_else(|| format!("the date {days} days from 1970-01-01 is out of range"))?;
            Value::String(date.format("%Y-%m-%d").to_string())
        }
        Field::TimeMillis(ms) => time_of_day(i64::from(*ms) * 1_000, 3)?,
        Field::TimeMicros(us) => time_of_day(*us, 6)?,
        Field::TimestampMillis(ms) => Value::from(*ms),
        Field::TimestampMicros(us) => Value::from(us.div_euclid(1_000)),
        Field::Group(row) => row_to_json(row)?,
        Field::ListInternal(list) => Value::Array(
            list.elements()
                .iter()
                .map(to_json)
                .collect::<Result<_, _>>()?,
        ),
        Field::MapInternal(map) => {
            let mut object = Map::new();
            for (key, value) in map.entries() {
                let key = match to_json(key)? {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                object.insert(key, to_json(value)?);
            }
            Value::Object(object)
        }
    })
}

fn float(x: f64) -> Value {
    match serde_json::Number::from_f64(x) {
        Some(n) => Value::Number(n),
        None if x.is_nan() => Value::String("NaN".into()),
        None if x > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}

/// A decimal's unscaled value (big-endian two's complement, at most 16 bytes) and scale as JSON.
fn decimal(bytes: &[u8], precision: i32, scale: i32) -> Result<Value, String> {
    if bytes.is_empty() || bytes.len() > 16 || scale < 0 {
        return Err(format!(
            "a decimal of {} bytes with scale {scale} is not supported",
            bytes.len()
        ));
    }
    let mut be = [if bytes[0] & 0x80 != 0 { 0xff } else { 0 }; 16];
    be[16 - bytes.len()..].copy_from_slice(bytes);
    let unscaled = i128::from_be_bytes(be);
    let digits = unscaled.unsigned_abs().to_string();
    let scale = usize::try_from(scale).unwrap_or(0);
    let digits = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits
    };
    let (whole, fraction) = digits.split_at(digits.len() - scale);
    let sign = if unscaled < 0 { "-" } else { "" };
    let text = if fraction.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    };
    if precision <= 15 {
        if let Ok(Value::Number(n)) = serde_json::from_str::<Value>(&text) {
            return Ok(Value::Number(n));
        }
    }
    Ok(Value::String(text))
}

/// `micros` since midnight as `HH:MM:SS` with `decimals` digits of the second.
fn time_of_day(micros: i64, decimals: usize) -> Result<Value, String> {
    let secs = u32::try_from(micros.div_euclid(1_000_000)).ok();
    let nanos = u32::try_from(micros.rem_euclid(1_000_000) * 1_000).ok();
    let time = secs
        .zip(nanos)
        .and_then(|(s, n)| chrono::NaiveTime::from_num_seconds_from_midnight_opt(s, n))
        .ok_or_else(|| format!("the time of day {micros} microseconds is out of range"))?;
    let format = if decimals == 3 {
        "%H:%M:%S%.3f"
    } else {
        "%H:%M:%S%.6f"
    };
    Ok(Value::String(time.format(format).to_string()))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use parquet::data_type::{
        BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type,
    };
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    use serde_json::json;
    use std::sync::Arc;

    /// A Parquet file of two rows: the types of [`to_json`], a nested group and a repeated column.
    pub(in crate::dmap) fn sample_file(codec: Compression) -> Vec<u8> {
        let schema = parse_message_type(
            "message item {
                REQUIRED INT64 id;
                OPTIONAL BINARY name (UTF8);
                REQUIRED DOUBLE price;
                OPTIONAL BOOLEAN ok;
                REQUIRED INT64 at (TIMESTAMP_MILLIS);
                REQUIRED INT32 day (DATE);
                REQUIRED INT64 cost (DECIMAL(10,2));
                REQUIRED BINARY raw;
                REQUIRED group size {
                    REQUIRED INT32 w;
                    REQUIRED INT32 h;
                }
                REPEATED INT32 tags;
            }",
        )
        .expect("schema");
        let props = WriterProperties::builder().set_compression(codec).build();
        let mut out = Vec::new();
        let mut writer =
            SerializedFileWriter::new(&mut out, Arc::new(schema), Arc::new(props)).expect("writer");
        let mut group = writer.next_row_group().expect("row group");
        macro_rules! column {
            ($ty:ty, $values:expr, $def:expr, $rep:expr) => {{
                let mut c = group.next_column().expect("column").expect("a column");
                c.typed::<$ty>()
                    .write_batch($values, $def, $rep)
                    .expect("write");
                c.close().expect("close");
            }};
        }
        column!(Int64Type, &[1, 2], None, None);
        column!(
            ByteArrayType,
            &[ByteArray::from("café")],
            Some(&[1, 0]),
            None
        );
        column!(DoubleType, &[9.5, -0.25], None, None);
        column!(BoolType, &[true], Some(&[0, 1]), None);
        column!(Int64Type, &[1_796_375_107_042, 0], None, None);
        column!(Int32Type, &[20_429, -1], None, None);
        column!(Int64Type, &[123_456, -5], None, None);
        column!(
            ByteArrayType,
            &[ByteArray::from(vec![0u8, 255]), ByteArray::from(vec![])],
            None,
            None
        );
        column!(Int32Type, &[640, 1], None, None);
        column!(Int32Type, &[480, 2], None, None);
        // Rows [10, 20] and [] (definition level 0: no value).
        column!(Int32Type, &[10, 20], Some(&[1, 1, 0]), Some(&[0, 1, 0]));
        group.close().expect("close row group");
        writer.close().expect("close file");
        out
    }

    fn sample_rows() -> Vec<Value> {
        vec![
            json!({
                "id": 1, "name": "café", "price": 9.5, "ok": null, "at": 1_796_375_107_042_i64,
                "day": "2025-12-07", "cost": 1234.56, "raw": "AP8=", "size": {"w": 640, "h": 480},
                "tags": [10, 20]
            }),
            json!({
                "id": 2, "name": null, "price": -0.25, "ok": true, "at": 0, "day": "1969-12-31",
                "cost": -0.05, "raw": "", "size": {"w": 1, "h": 2}, "tags": []
            }),
        ]
    }

    #[test]
    fn each_row_is_an_object_of_its_columns() {
        let rows = rows(&sample_file(Compression::UNCOMPRESSED), AWS_LIMITS).expect("rows");
        assert_eq!(rows, sample_rows());
    }

    // "Internal GZIP, ZSTD, and Snappy data compression are natively supported"
    // (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html).
    #[test]
    fn reads_snappy_gzip_and_zstd_and_refuses_other_codecs() {
        for codec in [
            Compression::SNAPPY,
            Compression::GZIP(Default::default()),
            Compression::ZSTD(Default::default()),
        ] {
            assert_eq!(
                rows(&sample_file(codec), AWS_LIMITS).expect("rows"),
                sample_rows(),
                "{codec:?}"
            );
        }
        let e = rows(&sample_file(Compression::LZ4_RAW), AWS_LIMITS).expect_err("lz4");
        assert!(
            e.contains("compressed with LZ4_RAW") && e.contains("GZIP, ZSTD or Snappy"),
            "{e}"
        );
    }

    // "256MB is the maximum row-group size, and 5MB is the maximum footer size" (same page).
    #[test]
    fn a_footer_or_row_group_over_the_limit_fails() {
        let file = sample_file(Compression::UNCOMPRESSED);
        let e = rows(
            &file,
            Limits {
                row_group_bytes: MAX_ROW_GROUP_BYTES,
                footer_bytes: 100,
            },
        )
        .expect_err("footer");
        assert!(
            e.contains("footer is") && e.contains("more than the 100 bytes"),
            "{e}"
        );
        let e = rows(
            &file,
            Limits {
                row_group_bytes: 10,
                footer_bytes: MAX_FOOTER_BYTES,
            },
        )
        .expect_err("row group");
        assert!(e.starts_with("Row group 0 of the Parquet file is"), "{e}");
    }

    #[test]
    fn a_file_that_is_not_parquet_or_is_cut_fails_clearly() {
        let file = sample_file(Compression::SNAPPY);
        for (body, says) in [
            (b"id,name\n1,a\n".to_vec(), "not a Parquet file"),
            (file[..file.len() / 2].to_vec(), "not a Parquet file"),
            (
                [&file[..8], &file[file.len() / 2..]].concat(),
                "cannot be read",
            ),
        ] {
            let e = rows(&body, AWS_LIMITS).expect_err(says);
            assert!(e.contains(says), "{e}");
        }
    }

    // Bad input fails the reader, never the engine: every byte of a file flipped three ways
    // (some of which make the `parquet` crate panic) gives rows or an error.
    #[test]
    fn a_damaged_file_gives_an_error_not_a_panic() {
        let file = sample_file(Compression::SNAPPY);
        let mut errors = 0;
        for i in 4..file.len() - 4 {
            for flip in [0x01_u8, 0x80, 0xff] {
                let mut damaged = file.clone();
                damaged[i] ^= flip;
                let read = std::panic::catch_unwind(|| rows(&damaged, AWS_LIMITS));
                match read.expect("rows does not panic") {
                    Ok(_) => {}
                    Err(e) => {
                        assert!(
                            e.starts_with("The Parquet file") || e.starts_with("Row"),
                            "{e}"
                        );
                        errors += 1;
                    }
                }
            }
        }
        assert!(errors > 0);
    }

    #[test]
    fn decimals_are_numbers_up_to_15_digits_and_strings_beyond() {
        assert_eq!(decimal(&[0x30, 0x39], 5, 2).expect("d"), json!(123.45));
        assert_eq!(decimal(&[0xff], 3, 3).expect("d"), json!(-0.001));
        assert_eq!(decimal(&[0x01], 3, 0).expect("d"), json!(1));
        let big = 12_345_678_901_234_567_890_i128.to_be_bytes();
        assert_eq!(
            decimal(&big, 38, 4).expect("d"),
            json!("1234567890123456.7890")
        );
        assert!(decimal(&[0; 17], 38, 0).is_err());
    }

    #[test]
    fn floats_json_has_no_number_for_are_strings() {
        assert_eq!(float(f64::NAN), json!("NaN"));
        assert_eq!(float(f64::INFINITY), json!("Infinity"));
        assert_eq!(float(f64::NEG_INFINITY), json!("-Infinity"));
        assert_eq!(float(1.5), json!(1.5));
    }
}
