//! Distributed Map: where its items come from (`ItemReader` on an [`ItemStore`]), how they are
//! batched (`ItemBatcher`), where its results go (`ResultWriter`), and the Map Runs it records
//! ([`MapRuns`], which the endpoint's DescribeMapRun, ListMapRuns, UpdateMapRun and
//! ListExecutions answer from).
//!
//! The store is a port: [`MemoryStore`] in memory (tests), `crate::aws::S3ItemStore` on Amazon S3
//! through the AWS SDK (feature `aws`). The shapes follow AWS's documentation:
//! - ItemReader: <https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html>
//! - ItemBatcher: <https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html>
//! - ResultWriter: <https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html>
//! - Map Runs: <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-examine-map-run.html>

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::error::Failure;

mod parquet_rows;

/// `States.ItemReaderFailed`: the ItemReader could not read or parse its source.
pub const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
/// `States.ResultWriterFailed`: the ResultWriter could not export the results.
pub const RESULT_WRITER_FAILED: &str = "States.ResultWriterFailed";
/// `States.ItemBatcherFailed`: a batch cannot be built, as when one item alone is larger than
/// `MaxInputBytesPerBatch` (AWS's ItemBatcher page documents no error for that case; this name
/// follows its `States.ItemReaderFailed`/`States.ResultWriterFailed`).
pub const ITEM_BATCHER_FAILED: &str = "States.ItemBatcherFailed";
/// The largest `MaxInputBytesPerBatch` AWS accepts (256 KiB).
pub const MAX_BATCH_BYTES: u64 = 256 * 1024;

/// A failed store call: the service's error code (e.g. `NoSuchKey`, `NoSuchBucket`) and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct StoreError {
    /// The error code as the service answers it.
    pub code: String,
    /// The service's message.
    pub message: String,
}

impl StoreError {
    /// An error with `code` and `message`.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        StoreError {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// One object of a ListObjectsV2 page.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectInfo {
    /// The object key.
    pub key: String,
    /// The entity tag, with its quotes as S3 answers it.
    pub etag: String,
    /// Last modification, epoch seconds.
    pub last_modified: i64,
    /// Size in bytes.
    pub size: i64,
    /// Storage class (`STANDARD`, ...).
    pub storage_class: String,
}

/// One ListObjectsV2 page and the token of the next.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListPage {
    /// The objects of this page, in key order.
    pub objects: Vec<ObjectInfo>,
    /// `NextContinuationToken` when the listing is truncated.
    pub next: Option<String>,
}

/// Where a distributed Map reads items and writes results: S3's GetObject, ListObjectsV2 and
/// PutObject.
#[async_trait]
pub trait ItemStore: Send + Sync {
    /// GetObject: the object's bytes (of the version `version_id`, when given).
    async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<Vec<u8>, StoreError>;
    /// ListObjectsV2: one page of the objects under `prefix`, after `continuation`.
    async fn list_objects_v2(
        &self,
        bucket: &str,
        prefix: Option<&str>,
        continuation: Option<String>,
    ) -> Result<ListPage, StoreError>;
    /// PutObject of a JSON document.
    async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), StoreError>;
}

/// Buckets by name, each its objects by key: the body and its last modification (epoch seconds).
type Buckets = BTreeMap<String, BTreeMap<String, (Vec<u8>, i64)>>;

/// An [`ItemStore`] in memory: buckets are created by [`MemoryStore::create_bucket`]; pages hold
/// at most `page_size` objects (1000 as S3's default).
#[derive(Debug)]
pub struct MemoryStore {
    buckets: Mutex<Buckets>,
    page_size: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            buckets: Mutex::default(),
            page_size: 1000,
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store whose listings answer at most `n` objects a page (to test paging).
    pub fn with_page_size(n: usize) -> Self {
        MemoryStore {
            page_size: n.max(1),
            ..Self::default()
        }
    }

    /// Creates `bucket` (empty) if it does not exist.
    pub fn create_bucket(&self, bucket: &str) {
        self.lock().entry(bucket.to_string()).or_default();
    }

    /// Puts an object, creating its bucket.
    pub fn put(&self, bucket: &str, key: &str, body: impl Into<Vec<u8>>) {
        self.lock()
            .entry(bucket.to_string())
            .or_default()
            .insert(key.to_string(), (body.into(), Utc::now().timestamp()));
    }

    /// An object's bytes, if it exists.
    pub fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        self.lock().get(bucket)?.get(key).map(|(b, _)| b.clone())
    }

    /// The keys of `bucket`, in order.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        self.lock()
            .get(bucket)
            .map(|b| b.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Buckets> {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn no_bucket(bucket: &str) -> StoreError {
    StoreError::new(
        "NoSuchBucket",
        format!("The specified bucket does not exist: {bucket}"),
    )
}

#[async_trait]
impl ItemStore for MemoryStore {
    /// The store keeps one version of each object: a `version_id` reads that one.
    async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        _version_id: Option<&str>,
    ) -> Result<Vec<u8>, StoreError> {
        let buckets = self.lock();
        let b = buckets.get(bucket).ok_or_else(|| no_bucket(bucket))?;
        b.get(key)
            .map(|(body, _)| body.clone())
            .ok_or_else(|| StoreError::new("NoSuchKey", "The specified key does not exist."))
    }

    async fn list_objects_v2(
        &self,
        bucket: &str,
        prefix: Option<&str>,
        continuation: Option<String>,
    ) -> Result<ListPage, StoreError> {
        let buckets = self.lock();
        let b = buckets.get(bucket).ok_or_else(|| no_bucket(bucket))?;
        let prefix = prefix.unwrap_or("");
        let mut objects = Vec::new();
        let mut next = None;
        for (key, (body, modified)) in b.iter() {
            if !key.starts_with(prefix)
                || continuation.as_deref().is_some_and(|c| key.as_str() <= c)
            {
                continue;
            }
            if objects.len() == self.page_size {
                next = objects.last().map(|o: &ObjectInfo| o.key.clone());
                break;
            }
            use md5::Digest;
            let hex: String = md5::Md5::digest(body)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let etag = format!("\"{hex}\"");
            objects.push(ObjectInfo {
                key: key.clone(),
                etag,
                last_modified: *modified,
                size: body.len() as i64,
                storage_class: "STANDARD".into(),
            });
        }
        Ok(ListPage { objects, next })
    }

    async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), StoreError> {
        let mut buckets = self.lock();
        let b = buckets.get_mut(bucket).ok_or_else(|| no_bucket(bucket))?;
        b.insert(key.to_string(), (body, Utc::now().timestamp()));
        Ok(())
    }
}

fn reader_failed(cause: impl Into<String>) -> Failure {
    Failure::new(ITEM_READER_FAILED, cause)
}

/// The reader's resources.
pub const GET_OBJECT: &str = "arn:aws:states:::s3:getObject";
/// ListObjectsV2: each object of a bucket/prefix is an item.
pub const LIST_OBJECTS_V2: &str = "arn:aws:states:::s3:listObjectsV2";
/// The ResultWriter's resource.
pub const PUT_OBJECT: &str = "arn:aws:states:::s3:putObject";

/// A string member of an S3 request (`Bucket`, `Key`, `Prefix`).
fn member<'v>(request: &'v Value, name: &str, required: bool) -> Result<Option<&'v str>, Failure> {
    match request.get(name) {
        Some(Value::String(s)) => Ok(Some(s)),
        None | Some(Value::Null) if !required => Ok(None),
        None | Some(Value::Null) => Err(reader_failed(format!(
            "The ItemReader's parameters must include the field '{name}'"
        ))),
        Some(other) => Err(reader_failed(format!(
            "The ItemReader's field '{name}' must be a string, but was: {other}"
        ))),
    }
}

/// The items an `ItemReader` read, and where each came from (the context object's
/// `Map.Item.Source`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadItems {
    /// The items, in order.
    pub items: Vec<Value>,
    /// Runs of items by source, in item order: the index of a run's first item and the S3 URI
    /// it was read from ([`s3_source`]).
    pub sources: Vec<(usize, String)>,
}

impl ReadItems {
    /// Where item `index` was read from.
    ///
    /// ```
    /// use asl_engine::dmap::ReadItems;
    ///
    /// let read = ReadItems {
    ///     items: vec![1.into(), 2.into(), 3.into()],
    ///     sources: vec![(0, "S3://b/one.csv".into()), (2, "S3://b/two.csv".into())],
    /// };
    /// assert_eq!(read.source_of(1), Some("S3://b/one.csv"));
    /// assert_eq!(read.source_of(2), Some("S3://b/two.csv"));
    /// ```
    pub fn source_of(&self, index: usize) -> Option<&str> {
        let runs = self.sources.partition_point(|(first, _)| *first <= index);
        runs.checked_sub(1).map(|run| self.sources[run].1.as_str())
    }
}

/// `Map.Item.Source` of items read from S3: the bucket's URI for a listObjectsV2 listing, else the
/// object's, written as AWS's documentation writes them (`S3://bucket-name/object-key`,
/// <https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html>).
pub fn s3_source(bucket: &str, key: Option<&str>) -> String {
    match key {
        Some(key) => format!("S3://{bucket}/{key}"),
        None => format!("S3://{bucket}"),
    }
}

/// Where the items of a reader `resource` whose request is `request` come from, as far as the
/// request says: the listed bucket, or the object read (a `LOAD_AND_FLATTEN` listing's items
/// come from each object it lists: [`read_items_and_sources`] knows those).
pub fn reader_source(resource: &str, request: &Value) -> Option<String> {
    let bucket = request.get("Bucket")?.as_str()?;
    if resource == LIST_OBJECTS_V2 {
        Some(s3_source(bucket, None))
    } else {
        Some(s3_source(bucket, Some(request.get("Key")?.as_str()?)))
    }
}

/// Reads the items of an `ItemReader` (`resource`, its evaluated `Parameters`/`Arguments` as
/// `request`, and `config` its `ReaderConfig` with `MaxItems` already resolved into `max_items`).
pub async fn read_items(
    store: &dyn ItemStore,
    resource: &str,
    request: &Value,
    config: &Value,
    max_items: Option<u64>,
) -> Result<Vec<Value>, Failure> {
    read_items_and_sources(store, resource, request, config, max_items)
        .await
        .map(|read| read.items)
}

/// [`read_items`], with where each item came from.
pub async fn read_items_and_sources(
    store: &dyn ItemStore,
    resource: &str,
    request: &Value,
    config: &Value,
    max_items: Option<u64>,
) -> Result<ReadItems, Failure> {
    let bucket = member(request, "Bucket", true)?.unwrap_or_default();
    let mut sources = Vec::new();
    let limit = max_items.filter(|n| *n > 0).map(|n| n as usize);
    let store_failed = |e: StoreError| {
        reader_failed(format!(
            "Amazon S3 answered {} for bucket '{bucket}': {}",
            e.code, e.message
        ))
    };
    let text = |name: &str| config.get(name).and_then(Value::as_str);
    let input_type = text("InputType");
    let mut items = if resource == LIST_OBJECTS_V2 {
        let prefix = member(request, "Prefix", false)?;
        let flatten = match text("Transformation") {
            None | Some("NONE") => false,
            Some("LOAD_AND_FLATTEN") => true,
            Some(other) => {
                return Err(reader_failed(format!(
                    "ReaderConfig.Transformation '{other}' is not NONE or LOAD_AND_FLATTEN"
                )))
            }
        };
        // With LOAD_AND_FLATTEN, MaxItems counts the objects' records, not the objects.
        let listing_limit = if flatten { None } else { limit };
        let mut objects = Vec::new();
        let mut token = None;
        loop {
            let page = store
                .list_objects_v2(bucket, prefix, token)
                .await
                .map_err(store_failed)?;
            objects.extend(page.objects);
            if listing_limit.is_some_and(|l| objects.len() >= l) {
                break;
            }
            match page.next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        if flatten {
            // Each listed object is read as InputType says and its records are the items
            // (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html).
            let input_type = input_type.ok_or_else(|| {
                reader_failed("ReaderConfig.InputType is required with Transformation LOAD_AND_FLATTEN (CSV, JSON or JSONL)")
            })?;
            let mut items = Vec::new();
            for o in objects {
                let body = store
                    .get_object(bucket, &o.key, None)
                    .await
                    .map_err(store_failed)?;
                let body = decompressed(body, &o.key)?;
                sources.push((items.len(), s3_source(bucket, Some(&o.key))));
                items.extend(parse_object(&body, input_type, config)?);
                if limit.is_some_and(|l| items.len() >= l) {
                    break;
                }
            }
            items
        } else {
            sources.push((0, s3_source(bucket, None)));
            objects
                .into_iter()
                .map(|o| {
                    json!({
                        "Etag": o.etag,
                        "Key": o.key,
                        "LastModified": o.last_modified,
                        "Size": o.size,
                        "StorageClass": o.storage_class,
                    })
                })
                .collect()
        }
    } else if resource == GET_OBJECT {
        let key = member(request, "Key", true)?.unwrap_or_default();
        let version = member(request, "VersionId", false)?;
        // https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html: "The
        // VersionId field is not supported for InputType=Parquet".
        if version.is_some() && input_type == Some("PARQUET") {
            return Err(reader_failed(
                "The VersionId field is not supported for InputType PARQUET",
            ));
        }
        sources.push((0, s3_source(bucket, Some(key))));
        let body = store
            .get_object(bucket, key, version)
            .await
            .map_err(store_failed)?;
        let body = decompressed(body, key)?;
        match (text("ManifestType"), input_type.unwrap_or("JSON")) {
            (Some("S3_INVENTORY"), _) | (None, "MANIFEST") => {
                read_manifest(store, &body, limit).await?
            }
            (Some("ATHENA_DATA"), input_type) => {
                read_athena_manifest(store, &body, input_type, config, limit).await?
            }
            (Some(other), _) => {
                return Err(reader_failed(format!(
                    "ReaderConfig.ManifestType '{other}' is not S3_INVENTORY or ATHENA_DATA"
                )))
            }
            (None, "JSON") => match text("ItemsPointer") {
                Some(pointer) => items_at(&body, pointer)?,
                None => parse_json_array(&body)?,
            },
            (None, input_type) => parse_object(&body, input_type, config)?,
        }
    } else {
        return Err(reader_failed(format!(
            "The ItemReader's Resource '{resource}' is not supported ({GET_OBJECT}, {LIST_OBJECTS_V2})"
        )));
    };
    if let Some(l) = limit {
        items.truncate(l);
    }
    Ok(ReadItems { items, sources })
}

/// The items of `data` as the reader (`resource`, `config` its `ReaderConfig`) finds them in one
/// of its sources: a listObjectsV2 reader's listing (a JSON array of the objects), or an object
/// it reads (as `InputType` says, through `ItemsPointer`, or each of a `LOAD_AND_FLATTEN`
/// listing's objects). TestState's `mapItemReaderData` is such data.
pub fn items_of_source(resource: &str, config: &Value, data: &[u8]) -> Result<Vec<Value>, Failure> {
    let text = |name: &str| config.get(name).and_then(Value::as_str);
    let input_type = text("InputType").unwrap_or("JSON");
    if resource == LIST_OBJECTS_V2 && text("Transformation") != Some("LOAD_AND_FLATTEN") {
        return parse_json_array(data);
    }
    match (input_type, text("ItemsPointer")) {
        ("JSON", Some(pointer)) => items_at(data, pointer),
        (input_type, _) => parse_object(data, input_type, config),
    }
}

/// The most bytes a compressed object may expand to (a bound against decompression bombs).
const MAX_DECOMPRESSED: u64 = 1 << 30;

/// `body` of the object `name`, decompressed when it is gzip or zstd (told by their magic bytes;
/// AWS reads GZIP and ZSTD objects:
/// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html).
fn decompressed(body: Vec<u8>, name: &str) -> Result<Vec<u8>, Failure> {
    use std::io::Read;
    if is_zstd(&body) {
        return zstd_decompressed(&body, name);
    }
    if !body.starts_with(&[0x1f, 0x8b]) {
        return Ok(body);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(body.as_slice())
        .take(MAX_DECOMPRESSED + 1)
        .read_to_end(&mut out)
        .map_err(|e| {
            reader_failed(format!(
                "The gzip object '{name}' cannot be decompressed: {e}"
            ))
        })?;
    within_bound(out, "gzip", name)
}

/// Whether `body` starts with a Zstandard frame or a skippable frame (RFC 8878, 3.1.1 and 3.1.2).
fn is_zstd(body: &[u8]) -> bool {
    body.get(..4)
        .map(|m| u32::from_le_bytes([m[0], m[1], m[2], m[3]]))
        .is_some_and(|magic| magic == ZSTD_MAGIC || SKIPPABLE_MAGIC.contains(&magic))
}

/// The magic number of a Zstandard frame (RFC 8878, 3.1.1).
const ZSTD_MAGIC: u32 = 0xFD2F_B528;
/// The magic numbers of skippable frames (RFC 8878, 3.1.2).
const SKIPPABLE_MAGIC: std::ops::RangeInclusive<u32> = 0x184D_2A50..=0x184D_2A5F;

/// A zstd object decompressed: every frame in turn (a file may hold several, as `zstd` writes
/// when files are concatenated), skippable frames skipped, each frame's content checksum verified
/// when it has one, at most [`MAX_DECOMPRESSED`] bytes.
fn zstd_decompressed(body: &[u8], name: &str) -> Result<Vec<u8>, Failure> {
    use std::io::Read;
    let mut out = Vec::new();
    zstd::stream::read::Decoder::with_buffer(body)
        .and_then(|decoder| decoder.take(MAX_DECOMPRESSED + 1).read_to_end(&mut out))
        .map_err(|e| {
            reader_failed(format!(
                "The zstd object '{name}' cannot be decompressed: {e}"
            ))
        })?;
    within_bound(out, "zstd", name)
}

/// `out` when it is at most [`MAX_DECOMPRESSED`] bytes.
fn within_bound(out: Vec<u8>, format: &str, name: &str) -> Result<Vec<u8>, Failure> {
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(reader_failed(format!(
            "The {format} object '{name}' expands to more than {MAX_DECOMPRESSED} bytes"
        )));
    }
    Ok(out)
}

/// The records of one object read as `input_type` says (`JSON`: an array; `JSONL`; `CSV` with the
/// reader's `config`).
fn parse_object(body: &[u8], input_type: &str, config: &Value) -> Result<Vec<Value>, Failure> {
    match input_type {
        "JSON" => parse_json_array(body),
        "JSONL" => parse_jsonl(body),
        "CSV" => parse_csv(body, config),
        "PARQUET" => parquet_rows::rows(body, parquet_rows::AWS_LIMITS).map_err(reader_failed),
        other => Err(reader_failed(format!(
            "ReaderConfig.InputType '{other}' is not supported here (JSON, JSONL, CSV, PARQUET; MANIFEST for an S3 Inventory manifest)"
        ))),
    }
}

/// `ReaderConfig.ItemsPointer`: the items are the array the JSON Pointer (`/a/b`) selects in the
/// object's JSON document.
fn items_at(body: &[u8], pointer: &str) -> Result<Vec<Value>, Failure> {
    let document: Value = serde_json::from_slice(body)
        .map_err(|e| reader_failed(format!("The object is not valid JSON: {e}")))?;
    match document.pointer(pointer) {
        Some(Value::Array(items)) => Ok(items.clone()),
        Some(_) => Err(reader_failed(format!(
            "ReaderConfig.ItemsPointer '{pointer}' does not point to an array in the object"
        ))),
        None => Err(reader_failed(format!(
            "ReaderConfig.ItemsPointer '{pointer}' points to nothing in the object"
        ))),
    }
}

/// `ManifestType: ATHENA_DATA`: the manifest an Athena `UNLOAD` writes lists the query's data
/// files, one `s3://bucket/key` URI per line; each is read as `input_type` says.
async fn read_athena_manifest(
    store: &dyn ItemStore,
    body: &[u8],
    input_type: &str,
    config: &Value,
    limit: Option<usize>,
) -> Result<Vec<Value>, Failure> {
    let mut items = Vec::new();
    for line in utf8(body)?.lines() {
        let uri = line.trim().trim_matches('"');
        if uri.is_empty() {
            continue;
        }
        let (bucket, key) = uri
            .strip_prefix("s3://")
            .and_then(|rest| rest.split_once('/'))
            .ok_or_else(|| {
                reader_failed(format!(
                    "A line of the Athena manifest is not an s3://bucket/key URI: {uri}"
                ))
            })?;
        let data = store.get_object(bucket, key, None).await.map_err(|e| {
            reader_failed(format!(
                "Amazon S3 answered {} for the data file '{uri}': {}",
                e.code, e.message
            ))
        })?;
        let data = decompressed(data, uri)?;
        items.extend(parse_object(&data, input_type, config)?);
        if limit.is_some_and(|l| items.len() >= l) {
            break;
        }
    }
    Ok(items)
}

fn utf8(body: &[u8]) -> Result<&str, Failure> {
    std::str::from_utf8(body).map_err(|_| reader_failed("The object is not UTF-8 text"))
}

/// `InputType: JSON`: the object is a JSON array, each element an item.
pub fn parse_json_array(body: &[u8]) -> Result<Vec<Value>, Failure> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(a)) => Ok(a),
        Ok(_) => Err(reader_failed(
            "Attempting to map over non-iterable node: the JSON object is not an array",
        )),
        Err(e) => Err(reader_failed(format!("The object is not valid JSON: {e}"))),
    }
}

/// `InputType: JSONL`: each non-empty line is one JSON item.
pub fn parse_jsonl(body: &[u8]) -> Result<Vec<Value>, Failure> {
    let text = utf8(body)?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                reader_failed(format!(
                    "Line {} of the JSONL object is not valid JSON: {e}",
                    i + 1
                ))
            })
        })
        .collect()
}

/// Splits CSV text into records (RFC 4180 quoting: `"a,b"`, `""` for a quote).
pub fn csv_records(text: &str, delimiter: char) -> Result<Vec<Vec<String>>, Failure> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut at_start = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            c if c == delimiter => {
                record.push(std::mem::take(&mut field));
                at_start = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                if !(at_start && field.is_empty() && record.is_empty()) {
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                }
                at_start = true;
            }
            c => {
                field.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err(reader_failed(
            "The CSV object has an unterminated quoted field",
        ));
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

/// `InputType: CSV`: each row an object of the header's names to the row's values (strings);
/// `CSVHeaderLocation` `FIRST_ROW` (default) or `GIVEN` with `CSVHeaders`; `CSVDelimiter`
/// `COMMA` (default), `PIPE`, `SEMICOLON`, `SPACE` or `TAB`.
pub fn parse_csv(body: &[u8], config: &Value) -> Result<Vec<Value>, Failure> {
    let delimiter = match config.get("CSVDelimiter").and_then(Value::as_str) {
        None | Some("COMMA") => ',',
        Some("PIPE") => '|',
        Some("SEMICOLON") => ';',
        Some("SPACE") => ' ',
        Some("TAB") => '\t',
        Some(other) => {
            return Err(reader_failed(format!(
            "ReaderConfig.CSVDelimiter '{other}' is not one of COMMA, PIPE, SEMICOLON, SPACE, TAB"
        )))
        }
    };
    let mut rows = csv_records(utf8(body)?, delimiter)?.into_iter();
    let header: Vec<String> = match config.get("CSVHeaderLocation").and_then(Value::as_str) {
        None | Some("FIRST_ROW") => rows
            .next()
            .ok_or_else(|| reader_failed("The CSV object has no header row"))?,
        Some("GIVEN") => match config.get("CSVHeaders") {
            Some(Value::Array(h)) if h.iter().all(Value::is_string) && !h.is_empty() => h
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect(),
            _ => {
                return Err(reader_failed(
                    "ReaderConfig.CSVHeaders must be a non-empty array of strings when CSVHeaderLocation is GIVEN",
                ))
            }
        },
        Some(other) => {
            return Err(reader_failed(format!(
                "ReaderConfig.CSVHeaderLocation '{other}' is not FIRST_ROW or GIVEN"
            )))
        }
    };
    let mut items = Vec::new();
    for (n, row) in rows.enumerate() {
        if row.len() > header.len() {
            return Err(reader_failed(format!(
                "Row {} of the CSV object has {} fields but the header has {}",
                n + 1,
                row.len(),
                header.len()
            )));
        }
        let mut item = Map::new();
        for (i, name) in header.iter().enumerate() {
            item.insert(
                name.clone(),
                Value::String(row.get(i).cloned().unwrap_or_default()),
            );
        }
        items.push(Value::Object(item));
    }
    Ok(items)
}

/// `InputType: MANIFEST`: an S3 Inventory `manifest.json`; its CSV data `files` (in its
/// `destinationBucket`, gzip-compressed as S3 Inventory writes them, or not) are read with
/// `fileSchema` as the header.
async fn read_manifest(
    store: &dyn ItemStore,
    body: &[u8],
    limit: Option<usize>,
) -> Result<Vec<Value>, Failure> {
    let manifest: Value = serde_json::from_slice(body)
        .map_err(|e| reader_failed(format!("The manifest is not valid JSON: {e}")))?;
    if manifest.get("fileFormat").and_then(Value::as_str) != Some("CSV") {
        return Err(reader_failed(
            "Only S3 Inventory manifests with fileFormat CSV are supported",
        ));
    }
    let bucket = manifest
        .get("destinationBucket")
        .and_then(Value::as_str)
        .map(|b| b.strip_prefix("arn:aws:s3:::").unwrap_or(b).to_string())
        .ok_or_else(|| reader_failed("The manifest has no destinationBucket"))?;
    let schema: Vec<Value> = manifest
        .get("fileSchema")
        .and_then(Value::as_str)
        .ok_or_else(|| reader_failed("The manifest has no fileSchema"))?
        .split(',')
        .map(|s| Value::String(s.trim().to_string()))
        .collect();
    let files = manifest
        .get("files")
        .and_then(Value::as_array)
        .ok_or_else(|| reader_failed("The manifest has no files"))?;
    let config = json!({"CSVHeaderLocation": "GIVEN", "CSVHeaders": schema});
    let mut items = Vec::new();
    for f in files {
        let key = f
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(|| reader_failed("A file of the manifest has no key"))?;
        let data = store.get_object(&bucket, key, None).await.map_err(|e| {
            reader_failed(format!(
                "Amazon S3 answered {} for the inventory file '{key}': {}",
                e.code, e.message
            ))
        })?;
        // S3 Inventory writes its CSV files gzip-compressed.
        let data = decompressed(data, key)?;
        items.extend(parse_csv(&data, &config)?);
        if limit.is_some_and(|l| items.len() >= l) {
            break;
        }
    }
    Ok(items)
}

/// Groups `items` into batches of at most `max_items` items and at most `max_bytes` bytes of
/// batch input (`{"BatchInput": ..., "Items": [...]}` as JSON); each batch is one child's input.
/// An item that alone exceeds `max_bytes` fails with `States.ItemBatcherFailed`.
pub fn batch(
    items: Vec<Value>,
    max_items: Option<u64>,
    max_bytes: Option<u64>,
    batch_input: Option<&Value>,
) -> Result<Vec<Value>, Failure> {
    let wrap = |items: Vec<Value>| {
        let mut m = Map::new();
        if let Some(b) = batch_input {
            m.insert("BatchInput".into(), b.clone());
        }
        m.insert("Items".into(), Value::Array(items));
        Value::Object(m)
    };
    let base = wrap(Vec::new()).to_string().len() as u64;
    let max_items = max_items.filter(|n| *n > 0).map(|n| n as usize);
    let mut batches = Vec::new();
    let mut current: Vec<Value> = Vec::new();
    let mut size = base;
    for item in items {
        let item_size = item.to_string().len() as u64;
        let added = item_size + u64::from(!current.is_empty());
        if let Some(limit) = max_bytes {
            if base + item_size > limit {
                return Err(Failure::new(
                    ITEM_BATCHER_FAILED,
                    format!(
                        "An item of {item_size} bytes does not fit in a batch of MaxInputBytesPerBatch {limit}"
                    ),
                ));
            }
        }
        let full_count = max_items.is_some_and(|m| current.len() >= m);
        let full_bytes = max_bytes.is_some_and(|m| size + added > m);
        if !current.is_empty() && (full_count || full_bytes) {
            batches.push(wrap(std::mem::take(&mut current)));
            size = base;
        }
        size += item_size + u64::from(!current.is_empty());
        current.push(item);
    }
    if !current.is_empty() {
        batches.push(wrap(current));
    }
    Ok(batches)
}

/// What one child execution of a Map Run did.
#[derive(Debug, Clone)]
pub struct ChildRecord {
    /// The child's execution ARN.
    pub arn: String,
    /// Its name (the last part of the ARN).
    pub name: String,
    /// Its input.
    pub input: Value,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: String,
    /// Its output, when it succeeded.
    pub output: Option<Value>,
    /// Its error and cause, when it failed.
    pub error: Option<String>,
    /// The cause of its failure.
    pub cause: Option<String>,
    /// When it started.
    pub start: DateTime<Utc>,
    /// When it stopped.
    pub stop: Option<DateTime<Utc>>,
    /// How many items it processed (the batch's size, or 1).
    pub item_count: u64,
    /// Its history: the events so far while it runs, all of them once it ended.
    pub history: ChildHistory,
    /// Stops the child's run (StopExecution of the child, [`MapRuns::stop_child`]); `None` for
    /// a record that runs nothing.
    pub abort: Option<futures::future::AbortHandle>,
    /// How many times its Map Run's redrive redrove it (a STANDARD child), and when last.
    pub redriven: Option<Redriven>,
}

/// How many times a Map Run, or a STANDARD child of one, was redriven, and when last
/// (DescribeMapRun's and DescribeExecution's `redriveCount` and `redriveDate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redriven {
    /// `redriveCount` (at least 1).
    pub count: u32,
    /// `redriveDate`.
    pub date: DateTime<Utc>,
}

impl Redriven {
    /// One more redrive after `before`, at `date`.
    pub fn again(before: Option<Redriven>, date: DateTime<Utc>) -> Redriven {
        Redriven {
            count: before.map_or(0, |r| r.count) + 1,
            date,
        }
    }
}

/// A Map Run child's history (GetExecutionHistory of a child execution).
#[derive(Debug, Clone)]
pub enum ChildHistory {
    /// The child is running: its events as they are recorded.
    Live(crate::LiveHistory),
    /// The child ended: its events, in id order.
    Ended(Arc<[crate::HistoryEvent]>),
    /// The child ended before the endpoint restarted: its events as the journal kept them
    /// (GetExecutionHistory's members), in id order.
    Loaded(Arc<[Value]>),
    /// A redriven child runs again: its events before the redrive (as GetExecutionHistory's
    /// members), then the redriven run's as they are recorded.
    Continued {
        /// The events before the redrive.
        before: Arc<[Value]>,
        /// The redriven run's events.
        live: crate::LiveHistory,
    },
}

impl Default for ChildHistory {
    fn default() -> Self {
        ChildHistory::Ended(Arc::from(Vec::new()))
    }
}

impl ChildHistory {
    /// The child ended: its events are taken out of the live history (which gives its chunks
    /// back) and kept as they are.
    pub fn end(&mut self) {
        match self {
            ChildHistory::Live(live) => *self = ChildHistory::Ended(Arc::from(live.take())),
            ChildHistory::Continued { .. } => *self = ChildHistory::Loaded(self.values().into()),
            _ => {}
        }
    }

    /// The child was stopped: its events so far, then `ExecutionAborted` at `at` with `details`
    /// (the `error` and `cause` StopExecution was given, if any).
    pub(crate) fn end_aborted(&mut self, at: DateTime<Utc>, details: Value) {
        let aborted = |last: u64| {
            crate::HistoryEvent::new(
                last + 1,
                last,
                crate::clock::EventTime::from_millis(at.timestamp_millis()),
                crate::EventType::ExecutionAborted,
                Some(("executionAbortedEventDetails", details)),
            )
        };
        self.end();
        *self = match self {
            ChildHistory::Loaded(values) | ChildHistory::Continued { before: values, .. } => {
                let mut values = values.to_vec();
                let last = values.last().and_then(|e| e["id"].as_u64()).unwrap_or(0);
                values.push(serde_json::to_value(aborted(last)).unwrap_or_default());
                ChildHistory::Loaded(Arc::from(values))
            }
            ChildHistory::Live(live) => {
                let mut events = live.take();
                events.push(aborted(events.last().map_or(0, |e| e.id)));
                ChildHistory::Ended(Arc::from(events))
            }
            ChildHistory::Ended(events) => {
                let mut events = events.to_vec();
                events.push(aborted(events.last().map_or(0, |e| e.id)));
                ChildHistory::Ended(Arc::from(events))
            }
        };
    }

    /// The events so far, in id order, as GetExecutionHistory's members.
    pub fn values(&self) -> Vec<Value> {
        let value = |e: &crate::HistoryEvent| serde_json::to_value(e).unwrap_or_default();
        match self {
            ChildHistory::Live(live) => {
                live.with_events(|events| events.iter().map(value).collect())
            }
            ChildHistory::Ended(events) => events.iter().map(value).collect(),
            ChildHistory::Loaded(values) => values.to_vec(),
            ChildHistory::Continued { before, live } => {
                let mut all = before.to_vec();
                live.with_events(|events| all.extend(events.iter().map(value)));
                all
            }
        }
    }
}

/// Whether `failed` of `total` items exceed a Map's tolerated failures: more than
/// `ToleratedFailureCount`, or a larger share than `ToleratedFailurePercentage`; with both set,
/// either one exceeded is enough, and with neither, one failure is
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/maprun-fail-threshold.html>: "If you
/// specify both values, the workflow fails when it exceeds either value"; the default percentage
/// 0 "means that the workflow fails if any one of its child workflow executions fails").
///
/// ```
/// use asl_engine::dmap::exceeds_tolerated_failures;
///
/// assert!(exceeds_tolerated_failures(1, 10, None, None));
/// assert!(!exceeds_tolerated_failures(2, 10, Some(2.0), None));
/// assert!(exceeds_tolerated_failures(3, 10, Some(2.0), None));
/// assert!(!exceeds_tolerated_failures(5, 10, None, Some(50.0)));
/// // Both set: the count is exceeded, the percentage is not.
/// assert!(exceeds_tolerated_failures(3, 10, Some(2.0), Some(50.0)));
/// ```
pub fn exceeds_tolerated_failures(
    failed: u64,
    total: u64,
    count: Option<f64>,
    percentage: Option<f64>,
) -> bool {
    if count.is_none() && percentage.is_none() {
        return failed > 0;
    }
    let by_count = count.is_some_and(|c| failed as f64 > c);
    let by_percentage =
        percentage.is_some_and(|p| total > 0 && failed as f64 * 100.0 / total as f64 > p);
    by_count || by_percentage
}

/// One Map Run: what DescribeMapRun answers.
#[derive(Debug, Clone)]
pub struct MapRunRecord {
    /// `arn:aws:states:<region>:<account>:mapRun:<machine>/<label-or-state>:<id>`.
    pub map_run_arn: String,
    /// The execution that started it.
    pub execution_arn: String,
    /// The state machine ARN of its children: `...:stateMachine:<machine>/<label-or-state>`.
    pub state_machine_arn: String,
    /// The children's execution type (`STANDARD` or `EXPRESS`).
    pub execution_type: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED` or `ABORTED`.
    pub status: String,
    /// When it started and stopped.
    pub start: DateTime<Utc>,
    /// When it stopped.
    pub stop: Option<DateTime<Utc>>,
    /// The most children running at once (0: no limit); UpdateMapRun changes it.
    pub max_concurrency: u64,
    /// `ToleratedFailurePercentage`, if the Map state or UpdateMapRun set one (DescribeMapRun
    /// answers 0 otherwise).
    pub tolerated_failure_percentage: Option<f64>,
    /// `ToleratedFailureCount`, if the Map state or UpdateMapRun set one (DescribeMapRun answers
    /// 0 otherwise).
    pub tolerated_failure_count: Option<u64>,
    /// The number of items.
    pub total_items: u64,
    /// Results written to the ResultWriter (0 without one).
    pub results_written: u64,
    /// The children, in start order (pending ones are not listed).
    pub children: Vec<ChildRecord>,
    /// The number of child executions the items make.
    pub total_executions: u64,
    /// How many times its execution's redrive redrove it, and when last.
    pub redriven: Option<Redriven>,
}

impl MapRunRecord {
    /// Its children still running end ABORTED at `at`, their histories with `ExecutionAborted`
    /// (the Map Run failed, or its execution stopped).
    pub(crate) fn abort_running_children(&mut self, at: DateTime<Utc>) {
        for c in self.children.iter_mut().filter(|c| c.status == "RUNNING") {
            c.status = "ABORTED".into();
            c.stop = Some(at);
            c.abort = None;
            c.history.end_aborted(at, json!({}));
        }
    }

    /// `itemCounts` and `executionCounts` of DescribeMapRun.
    pub fn counts(&self) -> (Value, Value) {
        let mut exec: BTreeMap<&str, u64> = BTreeMap::new();
        let mut items: BTreeMap<&str, u64> = BTreeMap::new();
        for c in &self.children {
            let k = match c.status.as_str() {
                "RUNNING" => "running",
                "SUCCEEDED" => "succeeded",
                "FAILED" => "failed",
                "TIMED_OUT" => "timedOut",
                _ => "aborted",
            };
            *exec.entry(k).or_default() += 1;
            *items.entry(k).or_default() += c.item_count;
        }
        let started_items: u64 = self.children.iter().map(|c| c.item_count).sum();
        let shape = |m: &BTreeMap<&str, u64>, total: u64, pending: u64, written: u64| {
            json!({
                "pending": pending,
                "running": m.get("running").copied().unwrap_or(0),
                "succeeded": m.get("succeeded").copied().unwrap_or(0),
                "failed": m.get("failed").copied().unwrap_or(0),
                "timedOut": m.get("timedOut").copied().unwrap_or(0),
                "aborted": m.get("aborted").copied().unwrap_or(0),
                "total": total,
                "resultsWritten": written,
                "failuresNotRedrivable": 0,
                "pendingRedrive": 0,
            })
        };
        let items_written = if self.results_written > 0 {
            self.children
                .iter()
                .filter(|c| c.status != "RUNNING")
                .map(|c| c.item_count)
                .sum()
        } else {
            0
        };
        (
            shape(
                &items,
                self.total_items,
                self.total_items.saturating_sub(started_items),
                items_written,
            ),
            shape(
                &exec,
                self.total_executions,
                self.total_executions
                    .saturating_sub(self.children.len() as u64),
                self.results_written,
            ),
        )
    }
}

/// The Map Runs of an engine, by ARN (shared by the interpreter, which records them, and the
/// endpoint, which answers the Map Run API from them).
#[derive(Default)]
pub struct MapRuns {
    runs: Mutex<Vec<MapRunRecord>>,
    /// Told the execution's ARN when one of its Map Runs ends ([`MapRuns::set_on_end`]).
    on_end: std::sync::OnceLock<OnEnd>,
}

/// What [`MapRuns::set_on_end`] sets.
type OnEnd = Box<dyn Fn(&str) + Send + Sync>;

impl std::fmt::Debug for MapRuns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MapRuns")
            .field("runs", &self.lock().len())
            .field("on_end", &self.on_end.get().is_some())
            .finish()
    }
}

impl MapRuns {
    /// Has `f` told the ARN of the execution whose Map Run ended (SUCCEEDED, FAILED, or ABORTED
    /// as its execution stopped), with no lock of the Map Runs held: the endpoint's journal
    /// writes the execution's Map Runs then. Only the first call sets it.
    pub fn set_on_end(&self, f: impl Fn(&str) + Send + Sync + 'static) {
        let _ = self.on_end.set(Box::new(f));
    }

    /// Tells [`MapRuns::set_on_end`]'s function that a Map Run of `execution_arn` ended.
    pub(crate) fn ended(&self, execution_arn: &str) {
        if let Some(f) = self.on_end.get() {
            f(execution_arn);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<MapRunRecord>> {
        self.runs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a new Map Run.
    pub fn insert(&self, run: MapRunRecord) {
        self.lock().push(run);
    }

    /// A copy of the Map Run `arn`.
    pub fn get(&self, arn: &str) -> Option<MapRunRecord> {
        self.lock().iter().find(|r| r.map_run_arn == arn).cloned()
    }

    /// What `f` reads of the Map Run `arn`, without copying the record (its children can be
    /// many: a Map Run reads its settings this way as each child ends).
    pub fn read<T>(&self, arn: &str, f: impl FnOnce(&MapRunRecord) -> T) -> Option<T> {
        self.lock().iter().find(|r| r.map_run_arn == arn).map(f)
    }

    /// Every Map Run, in start order.
    pub fn all(&self) -> Vec<MapRunRecord> {
        self.lock().clone()
    }

    /// The Map Runs started by `execution_arn`, in start order.
    pub fn of_execution(&self, execution_arn: &str) -> Vec<MapRunRecord> {
        self.lock()
            .iter()
            .filter(|r| r.execution_arn == execution_arn)
            .cloned()
            .collect()
    }

    /// Changes the Map Run `arn` with `f`; false when it is unknown.
    pub fn update(&self, arn: &str, f: impl FnOnce(&mut MapRunRecord)) -> bool {
        match self.lock().iter_mut().find(|r| r.map_run_arn == arn) {
            Some(r) => {
                f(r);
                true
            }
            None => false,
        }
    }

    /// The history of the child execution `arn`, without copying its Map Run.
    pub fn child_history(&self, arn: &str) -> Option<ChildHistory> {
        let runs = self.lock();
        runs.iter()
            .find_map(|r| r.children.iter().find(|c| c.arn == arn))
            .map(|c| c.history.clone())
    }

    /// StopExecution of the Map Run child `arn`
    /// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html>):
    /// a running child ends ABORTED at `now`, its run is dropped wherever it is (in a Task, a
    /// Wait...), and its history ends with `ExecutionAborted` carrying `error` and `cause`. The
    /// Map Run counts it among its aborted children and as failed items against its tolerated
    /// failures. Returns the child's stop date (an ended child's own, unchanged), `None` when no
    /// child has that ARN.
    pub fn stop_child(
        &self,
        arn: &str,
        error: Option<String>,
        cause: Option<String>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let mut runs = self.lock();
        let c = runs
            .iter_mut()
            .find_map(|r| r.children.iter_mut().find(|c| c.arn == arn))?;
        if c.status != "RUNNING" {
            return Some(c.stop.unwrap_or(now));
        }
        if let Some(abort) = &c.abort {
            abort.abort();
        }
        let mut details = serde_json::Map::new();
        if let Some(e) = &error {
            details.insert("error".into(), Value::String(e.clone()));
        }
        if let Some(x) = &cause {
            details.insert("cause".into(), Value::String(x.clone()));
        }
        c.status = "ABORTED".into();
        c.stop = Some(now);
        c.error = error;
        c.cause = cause;
        c.history.end_aborted(now, Value::Object(details));
        Some(now)
    }

    /// The child execution `arn` and the ARN of its Map Run.
    pub fn child(&self, arn: &str) -> Option<(ChildRecord, MapRunRecord)> {
        let runs = self.lock();
        for r in runs.iter() {
            if let Some(c) = r.children.iter().find(|c| c.arn == arn) {
                return Some((c.clone(), r.clone()));
            }
        }
        None
    }
}

/// ISO 8601 in milliseconds, as the ResultWriter's files write dates.
fn iso(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// One child as a ResultWriter entry (`Transformation: NONE`, AWS's default when exporting).
pub fn result_entry(run: &MapRunRecord, c: &ChildRecord) -> Value {
    let mut e = json!({
        "ExecutionArn": c.arn,
        "Input": c.input.to_string(),
        "InputDetails": {"Included": true},
        "Name": c.name,
        "RedriveCount": c.redriven.map_or(0, |r| r.count),
        "StartDate": iso(&c.start),
        "StateMachineArn": run.state_machine_arn,
        "Status": c.status,
    });
    if let Some(stop) = &c.stop {
        e["StopDate"] = json!(iso(stop));
    }
    if let Some(o) = &c.output {
        e["Output"] = json!(o.to_string());
        e["OutputDetails"] = json!({"Included": true});
        e["RedriveStatus"] = json!("NOT_REDRIVABLE");
        e["RedriveStatusReason"] = json!("Execution is SUCCEEDED and cannot be redriven");
    } else {
        if let Some(err) = &c.error {
            e["Error"] = json!(err);
        }
        if let Some(cause) = &c.cause {
            e["Cause"] = json!(cause);
        }
    }
    e
}

/// `ResultWriter.WriterConfig.Transformation`: how each child's result is shaped
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transformation {
    /// The child's description with its output as JSON text ([`result_entry`]): the default
    /// when the results are exported.
    None,
    /// The child's output: the default without a ResultWriter.
    Compact,
    /// The child's output, an array's elements in its place.
    Flatten,
}

/// `ResultWriter.WriterConfig`: the [`Transformation`] and whether the exported files are JSON
/// Lines (`OutputType: JSONL`) rather than a JSON array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResultFormat {
    /// How each child's result is shaped.
    pub transformation: Transformation,
    /// `OutputType: JSONL`.
    pub json_lines: bool,
}

impl ResultFormat {
    /// The format `WriterConfig` gives (the validator checked its values); without one, AWS's
    /// defaults: `NONE` when `exporting` to Amazon S3, `COMPACT` otherwise, as a JSON array.
    pub fn new(writer_config: Option<&Value>, exporting: bool) -> ResultFormat {
        let field = |key: &str| {
            writer_config
                .and_then(|c| c.get(key))
                .and_then(Value::as_str)
        };
        let transformation = match field("Transformation") {
            Some("NONE") => Transformation::None,
            Some("FLATTEN") => Transformation::Flatten,
            Some(_) => Transformation::Compact,
            None if exporting => Transformation::None,
            None => Transformation::Compact,
        };
        ResultFormat {
            transformation,
            json_lines: field("OutputType") == Some("JSONL"),
        }
    }

    /// Appends a child's result to `out`: its output shaped by the transformation, or its
    /// description ([`result_entry`]) when the transformation is `NONE` or the child did not
    /// succeed (AWS returns a failed child's result unchanged, as `NONE` would). `output` is the
    /// child's output when it succeeded (taken instead of the record's copy).
    pub fn push(
        &self,
        run: &MapRunRecord,
        c: &ChildRecord,
        output: Option<Value>,
        out: &mut Vec<Value>,
    ) {
        match (self.transformation, output) {
            (Transformation::None, _) | (_, None) => out.push(result_entry(run, c)),
            (Transformation::Flatten, Some(Value::Array(items))) => out.extend(items),
            (_, Some(v)) => out.push(v),
        }
    }

    /// The body of a result file holding `entries`.
    fn body(&self, entries: Vec<Value>) -> Vec<u8> {
        if self.json_lines {
            let mut body = String::new();
            for e in entries {
                body.push_str(&e.to_string());
                body.push('\n');
            }
            body.into_bytes()
        } else {
            Value::Array(entries).to_string().into_bytes()
        }
    }
}

/// Writes a Map Run's results under `<prefix>/<map run id>/` in `bucket`: `SUCCEEDED_0.json`,
/// `FAILED_0.json` and `PENDING_0.json` (each only when it has entries; `pending` are the inputs of
/// children never started) and `manifest.json` listing them; answers the Map state's output
/// `{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}`. `format` shapes the succeeded
/// children's entries and the files' bodies; failed ones are always their descriptions.
pub async fn write_results(
    store: &dyn ItemStore,
    run: &MapRunRecord,
    bucket: &str,
    prefix: &str,
    pending: &[Value],
    format: ResultFormat,
) -> Result<Value, Failure> {
    let id = run.map_run_arn.rsplit(':').next().unwrap_or_default();
    let base = if prefix.is_empty() {
        id.to_string()
    } else {
        format!("{}/{id}", prefix.trim_end_matches('/'))
    };
    let failed = |e: StoreError| {
        Failure::new(
            RESULT_WRITER_FAILED,
            format!(
                "Amazon S3 answered {} writing to bucket '{bucket}': {}",
                e.code, e.message
            ),
        )
    };
    let mut groups: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for c in &run.children {
        let (g, output) = if c.status == "SUCCEEDED" {
            ("SUCCEEDED", c.output.clone())
        } else {
            ("FAILED", None)
        };
        format.push(run, c, output, groups.entry(g).or_default());
    }
    if !pending.is_empty() {
        groups.insert(
            "PENDING",
            pending
                .iter()
                .map(
                    |input| json!({"Input": input.to_string(), "InputDetails": {"Included": true}}),
                )
                .collect(),
        );
    }
    let mut files = json!({"FAILED": [], "PENDING": [], "SUCCEEDED": []});
    for (status, entries) in groups {
        let key = format!("{base}/{status}_0.json");
        let body = format.body(entries);
        let size = body.len();
        store.put_object(bucket, &key, body).await.map_err(failed)?;
        if let Some(list) = files[status].as_array_mut() {
            list.push(json!({"Key": key, "Size": size}));
        }
    }
    let manifest_key = format!("{base}/manifest.json");
    let manifest = json!({
        "DestinationBucket": bucket,
        "MapRunArn": run.map_run_arn,
        "ResultFiles": files,
    });
    store
        .put_object(bucket, &manifest_key, manifest.to_string().into_bytes())
        .await
        .map_err(failed)?;
    Ok(json!({
        "MapRunArn": run.map_run_arn,
        "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key},
    }))
}

/// The store and Map Run records a [`crate::TaskRegistry`] gives distributed Maps.
#[derive(Clone, Default)]
pub struct Distributed {
    /// Where ItemReader and ResultWriter go; `None` fails them with a clear cause.
    pub store: Option<Arc<dyn ItemStore>>,
    /// The Map Runs recorded.
    pub runs: Arc<MapRuns>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    // https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html (JSON)
    #[test]
    fn json_reader_reads_an_array_and_refuses_an_object() {
        let s = MemoryStore::new();
        s.put("b", "a.json", r#"[{"x":1},{"x":2},{"x":3}]"#);
        s.put("b", "o.json", r#"{"x":1}"#);
        let req = json!({"Bucket": "b", "Key": "a.json"});
        let items = block(read_items(
            &s,
            GET_OBJECT,
            &req,
            &json!({"InputType": "JSON"}),
            None,
        ))
        .expect("items");
        assert_eq!(items, vec![json!({"x":1}), json!({"x":2}), json!({"x":3})]);
        let two = block(read_items(&s, GET_OBJECT, &req, &json!({}), Some(2))).expect("items");
        assert_eq!(two.len(), 2);
        let e = block(read_items(
            &s,
            GET_OBJECT,
            &json!({"Bucket": "b", "Key": "o.json"}),
            &json!({"InputType": "JSON"}),
            None,
        ))
        .expect_err("object");
        assert_eq!(e.error.as_deref(), Some(ITEM_READER_FAILED));
        let missing = block(read_items(
            &s,
            GET_OBJECT,
            &json!({"Bucket": "b", "Key": "none"}),
            &json!({}),
            None,
        ))
        .expect_err("missing");
        assert!(missing.cause.as_deref().unwrap_or("").contains("NoSuchKey"));
    }

    #[test]
    fn jsonl_reader_reads_each_line() {
        let s = MemoryStore::new();
        s.put("b", "a.jsonl", "{\"a\":1}\n\n{\"a\":2}\r\n");
        let items = block(read_items(
            &s,
            GET_OBJECT,
            &json!({"Bucket": "b", "Key": "a.jsonl"}),
            &json!({"InputType": "JSONL"}),
            None,
        ))
        .expect("items");
        assert_eq!(items, vec![json!({"a":1}), json!({"a":2})]);
        assert!(parse_jsonl(b"{\"a\":1}\nnot json").is_err());
    }

    // https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html (CSV)
    #[test]
    fn csv_reader_first_row_given_and_quoting() {
        let body = b"id,name\n1,\"Smith, J\"\n2,\"say \"\"hi\"\"\"\n";
        let items = parse_csv(body, &json!({"CSVHeaderLocation": "FIRST_ROW"})).expect("csv");
        assert_eq!(
            items,
            vec![
                json!({"id": "1", "name": "Smith, J"}),
                json!({"id": "2", "name": "say \"hi\""})
            ]
        );
        let given = parse_csv(
            b"1;a\n2;b",
            &json!({"CSVHeaderLocation": "GIVEN", "CSVHeaders": ["n", "l"], "CSVDelimiter": "SEMICOLON"}),
        )
        .expect("given");
        assert_eq!(
            given,
            vec![json!({"n":"1","l":"a"}), json!({"n":"2","l":"b"})]
        );
        assert!(parse_csv(b"a\n1,2", &json!({})).is_err());
        assert!(parse_csv(b"a", &json!({"CSVHeaderLocation": "GIVEN"})).is_err());
    }

    #[test]
    fn list_objects_pages_and_limits() {
        let s = MemoryStore::with_page_size(2);
        for i in 0..5 {
            s.put("b", &format!("in/{i}.jpg"), vec![b'x'; i + 1]);
        }
        s.put("b", "other/z", "z");
        let req = json!({"Bucket": "b", "Prefix": "in/"});
        let items = block(read_items(&s, LIST_OBJECTS_V2, &req, &json!({}), None)).expect("list");
        assert_eq!(items.len(), 5);
        assert_eq!(items[4]["Key"], "in/4.jpg");
        assert_eq!(items[4]["Size"], 5);
        assert_eq!(items[0]["StorageClass"], "STANDARD");
        assert!(items[0]["Etag"].as_str().unwrap_or("").starts_with('"'));
        assert!(items[0]["LastModified"].is_i64());
        let three = block(read_items(&s, LIST_OBJECTS_V2, &req, &json!({}), Some(3))).expect("3");
        assert_eq!(three.len(), 3);
    }

    fn gzip(text: &str) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(text.as_bytes()).expect("gzip");
        e.finish().expect("gzip")
    }

    // S3 Inventory writes its data files gzip-compressed
    // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory-location.html).
    #[test]
    fn manifest_reads_inventory_csv_files() {
        let s = MemoryStore::new();
        s.put(
            "inv",
            "data/1.csv.gz",
            gzip("\"src\",\"a.jpg\",\"10\"\n\"src\",\"b.jpg\",\"20\"\n"),
        );
        s.put(
            "inv",
            "manifest.json",
            json!({
                "sourceBucket": "src",
                "destinationBucket": "arn:aws:s3:::inv",
                "fileFormat": "CSV",
                "fileSchema": "Bucket, Key, Size",
                "files": [{"key": "data/1.csv.gz"}]
            })
            .to_string(),
        );
        let items = block(read_items(
            &s,
            GET_OBJECT,
            &json!({"Bucket": "inv", "Key": "manifest.json"}),
            &json!({"InputType": "MANIFEST"}),
            None,
        ))
        .expect("manifest");
        assert_eq!(
            items,
            vec![
                json!({"Bucket": "src", "Key": "a.jpg", "Size": "10"}),
                json!({"Bucket": "src", "Key": "b.jpg", "Size": "20"})
            ]
        );
    }

    // https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html: GZIP
    // objects are read decompressed (zstd ones: `zstd_objects_are_read_frame_by_frame`).
    #[test]
    fn gzip_objects_are_read_decompressed() {
        let s = MemoryStore::new();
        s.put("b", "items.jsonl.gz", gzip("{\"n\": 1}\n{\"n\": 2}\n"));
        s.put("b", "broken.zst", vec![0x28, 0xb5, 0x2f, 0xfd, 0, 0]);
        s.put("b", "broken.gz", vec![0x1f, 0x8b, 8, 0, 1, 2]);
        let read = |key: &str| {
            block(read_items(
                &s,
                GET_OBJECT,
                &json!({"Bucket": "b", "Key": key}),
                &json!({"InputType": "JSONL"}),
                None,
            ))
        };
        assert_eq!(
            read("items.jsonl.gz").expect("gzip"),
            vec![json!({"n": 1}), json!({"n": 2})]
        );
        for (key, says) in [
            (
                "broken.zst",
                "zstd object 'broken.zst' cannot be decompressed",
            ),
            (
                "broken.gz",
                "gzip object 'broken.gz' cannot be decompressed",
            ),
        ] {
            let f = read(key).expect_err(key);
            assert_eq!(f.error.as_deref(), Some(ITEM_READER_FAILED));
            assert!(
                f.cause.as_deref().unwrap_or("").contains(says),
                "{key}: {f:?}"
            );
        }
    }

    fn zstd(text: &str) -> Vec<u8> {
        zstd::encode_all(text.as_bytes(), 3).expect("zstd")
    }

    // https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html: ZSTD
    // objects are read decompressed, whatever their key; every frame of the object in order,
    // skippable frames (RFC 8878, 3.1.2) skipped; a damaged frame fails the reader.
    #[test]
    fn zstd_objects_are_read_frame_by_frame() {
        let s = MemoryStore::new();
        let rows = "id,name\n1,one\n2,two\n";
        s.put("b", "rows.csv.zst", zstd(rows));
        // Two frames with a skippable frame (magic 0x184D2A53, 3 bytes) between them.
        let mut framed = zstd("{\"n\": 1}\n");
        framed.extend_from_slice(&0x184D_2A53_u32.to_le_bytes());
        framed.extend_from_slice(&3_u32.to_le_bytes());
        framed.extend_from_slice(b"xyz");
        framed.extend(zstd("{\"n\": 2}\n"));
        s.put("b", "items.jsonl", framed);
        // A frame cut short.
        let whole = zstd(&"{\"n\": 3}\n".repeat(100));
        s.put("b", "cut.jsonl.zst", whole[..whole.len() / 2].to_vec());
        // A frame whose content checksum (its last 4 bytes) does not match.
        let mut damaged = whole.clone();
        *damaged.last_mut().expect("checksum") ^= 0xff;
        s.put("b", "damaged.jsonl.zst", damaged);
        let read = |key: &str, config: Value| {
            block(read_items(
                &s,
                GET_OBJECT,
                &json!({"Bucket": "b", "Key": key}),
                &config,
                None,
            ))
        };
        assert_eq!(
            read(
                "rows.csv.zst",
                json!({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"})
            )
            .expect("csv"),
            vec![
                json!({"id": "1", "name": "one"}),
                json!({"id": "2", "name": "two"})
            ]
        );
        assert_eq!(
            read("items.jsonl", json!({"InputType": "JSONL"})).expect("frames"),
            vec![json!({"n": 1}), json!({"n": 2})]
        );
        for (key, says) in [
            ("cut.jsonl.zst", "cannot be decompressed"),
            ("damaged.jsonl.zst", "cannot be decompressed"),
        ] {
            let f = read(key, json!({"InputType": "JSONL"})).expect_err(key);
            assert_eq!(f.error.as_deref(), Some(ITEM_READER_FAILED));
            let cause = f.cause.as_deref().unwrap_or("");
            assert!(
                cause.contains(&format!("zstd object '{key}'")) && cause.contains(says),
                "{key}: {f:?}"
            );
        }
    }

    // https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html: a
    // Parquet object's rows are the items, read from the object, from each object of a
    // LOAD_AND_FLATTEN listing and from an Athena manifest's data files; "The VersionId field is
    // not supported for InputType=Parquet".
    #[test]
    fn parquet_objects_give_their_rows_wherever_they_are_read() {
        use parquet::basic::Compression;
        let s = MemoryStore::new();
        let file = parquet_rows::tests::sample_file(Compression::SNAPPY);
        s.put("b", "data/part-1.parquet", file.clone());
        s.put("b", "data/part-2.parquet", file);
        s.put(
            "b",
            "unload/manifest.csv",
            b"s3://b/data/part-1.parquet\ns3://b/data/part-2.parquet\n".to_vec(),
        );
        let read = |resource: &str, request: Value, config: Value| {
            block(read_items(&s, resource, &request, &config, None))
        };
        let parquet = json!({"InputType": "PARQUET"});
        let one = read(
            GET_OBJECT,
            json!({"Bucket": "b", "Key": "data/part-1.parquet"}),
            parquet.clone(),
        )
        .expect("object");
        assert_eq!(one.len(), 2);
        assert_eq!(one[0]["name"], json!("caf\u{e9}"));
        assert_eq!(one[1]["tags"], json!([]));
        let listed = read(
            LIST_OBJECTS_V2,
            json!({"Bucket": "b", "Prefix": "data/"}),
            json!({"InputType": "PARQUET", "Transformation": "LOAD_AND_FLATTEN"}),
        )
        .expect("listing");
        let athena = read(
            GET_OBJECT,
            json!({"Bucket": "b", "Key": "unload/manifest.csv"}),
            json!({"InputType": "PARQUET", "ManifestType": "ATHENA_DATA"}),
        )
        .expect("manifest");
        for both in [&listed, &athena] {
            assert_eq!(both.len(), 4);
            assert_eq!(both[..2], one[..]);
            assert_eq!(both[2..], one[..]);
        }
        let f = read(
            GET_OBJECT,
            json!({"Bucket": "b", "Key": "data/part-1.parquet", "VersionId": "v1"}),
            parquet.clone(),
        )
        .expect_err("VersionId");
        assert_eq!(f.error.as_deref(), Some(ITEM_READER_FAILED));
        assert_eq!(
            f.cause.as_deref(),
            Some("The VersionId field is not supported for InputType PARQUET")
        );
        let f = read(
            GET_OBJECT,
            json!({"Bucket": "b", "Key": "unload/manifest.csv"}),
            parquet,
        )
        .expect_err("not parquet");
        assert!(
            f.cause
                .as_deref()
                .unwrap_or("")
                .contains("not a Parquet file"),
            "{f:?}"
        );
    }

    // https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html
    #[test]
    fn batcher_by_count_bytes_and_batch_input() {
        let items: Vec<Value> = (0..7).map(|i| json!(i)).collect();
        let b = batch(items.clone(), Some(3), None, Some(&json!({"k": "v"}))).expect("batch");
        assert_eq!(b.len(), 3);
        assert_eq!(b[0], json!({"BatchInput": {"k": "v"}, "Items": [0, 1, 2]}));
        assert_eq!(b[2], json!({"BatchInput": {"k": "v"}, "Items": [6]}));
        // `{"Items":[]}` is 12 bytes; each one-digit item adds 1, each further item a comma.
        let by_bytes = batch(items, None, Some(17), None).expect("bytes");
        for x in &by_bytes {
            assert!(x.to_string().len() <= 17, "{x}");
        }
        assert_eq!(by_bytes[0], json!({"Items": [0, 1, 2]}));
        let too_big = batch(vec![json!("x".repeat(50))], None, Some(20), None);
        assert_eq!(
            too_big.expect_err("too big").error.as_deref(),
            Some(ITEM_BATCHER_FAILED)
        );
    }

    // https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html
    #[test]
    fn result_writer_writes_manifest_and_status_files() {
        let s = MemoryStore::new();
        s.create_bucket("out");
        let now = Utc::now();
        let child = |n: &str, ok: bool| ChildRecord {
            arn: format!("arn:aws:states:us-east-1:1:execution:M/Map:{n}"),
            name: n.into(),
            input: json!({"n": n}),
            status: if ok { "SUCCEEDED" } else { "FAILED" }.into(),
            output: ok.then(|| json!({"done": n})),
            error: (!ok).then(|| "Boom".to_string()),
            cause: (!ok).then(|| "bad".to_string()),
            start: now,
            stop: Some(now),
            item_count: 1,
            history: ChildHistory::default(),
            abort: None,
            redriven: None,
        };
        let run = MapRunRecord {
            map_run_arn: "arn:aws:states:us-east-1:1:mapRun:M/Map:abc".into(),
            execution_arn: "arn:aws:states:us-east-1:1:execution:M:e".into(),
            state_machine_arn: "arn:aws:states:us-east-1:1:stateMachine:M/Map".into(),
            execution_type: "STANDARD".into(),
            status: "SUCCEEDED".into(),
            start: now,
            stop: Some(now),
            max_concurrency: 0,
            tolerated_failure_percentage: None,
            tolerated_failure_count: None,
            total_items: 3,
            results_written: 0,
            children: vec![child("a", true), child("b", false)],
            total_executions: 3,
            redriven: None,
        };
        let out = block(write_results(
            &s,
            &run,
            "out",
            "res/",
            &[json!({"n": "c"})],
            ResultFormat::new(None, true),
        ))
        .expect("written");
        assert_eq!(out["ResultWriterDetails"]["Key"], "res/abc/manifest.json");
        let manifest: Value =
            serde_json::from_slice(&s.get("out", "res/abc/manifest.json").expect("m")).expect("j");
        assert_eq!(manifest["DestinationBucket"], "out");
        assert_eq!(
            manifest["ResultFiles"]["SUCCEEDED"][0]["Key"],
            "res/abc/SUCCEEDED_0.json"
        );
        let ok: Value =
            serde_json::from_slice(&s.get("out", "res/abc/SUCCEEDED_0.json").expect("s"))
                .expect("j");
        assert_eq!(ok[0]["Output"], "{\"done\":\"a\"}");
        let failed: Value =
            serde_json::from_slice(&s.get("out", "res/abc/FAILED_0.json").expect("f")).expect("j");
        assert_eq!(failed[0]["Error"], "Boom");
        assert!(s.get("out", "res/abc/PENDING_0.json").is_some());
        let e = block(write_results(
            &s,
            &run,
            "nobucket",
            "",
            &[],
            ResultFormat::new(None, true),
        ))
        .expect_err("no bucket");
        assert_eq!(e.error.as_deref(), Some(RESULT_WRITER_FAILED));
    }
}
