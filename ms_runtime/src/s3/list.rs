//! Listing as a stream: one page of at most 1000 keys in memory at a time.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::SystemTime;

use futures_util::{Stream, stream};

use super::error::{S3Error, Target};
use super::handle::{S3, Shared};

/// The stream [`S3::list`] returns.
///
/// ```no_run
/// use futures_util::TryStreamExt;
/// use ms_runtime::s3::{ListEntry, ListStream, S3};
///
/// # async fn demo(s3: S3) -> Result<(), ms_runtime::s3::S3Error> {
/// let entries: ListStream = s3.list("scans", "2024/06/", None);
/// let all: Vec<ListEntry> = entries.try_collect().await?;
/// println!("{} objects", all.len());
/// # Ok(()) }
/// ```
pub type ListStream = Pin<Box<dyn Stream<Item = Result<ListEntry, S3Error>> + Send>>;

/// One entry of a listing.
///
/// ```no_run
/// use futures_util::TryStreamExt;
/// use ms_runtime::s3::{ListEntry, S3};
///
/// # async fn demo(s3: S3) -> Result<(), ms_runtime::s3::S3Error> {
/// // the "folders" at the top of the bucket
/// let mut entries = s3.list("scans", "", Some("/"));
/// while let Some(entry) = entries.try_next().await? {
///     if let ListEntry::Prefix(folder) = entry {
///         println!("{folder}");
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListEntry {
    /// An object.
    Object(ObjectSummary),
    /// A common prefix (a "folder") when listing with a delimiter; ends with
    /// the delimiter.
    Prefix(String),
}

/// An object as a listing shows it.
///
/// ```no_run
/// use std::time::{Duration, SystemTime};
/// use futures_util::TryStreamExt;
/// use ms_runtime::s3::{ListEntry, S3};
///
/// # async fn demo(s3: S3) -> Result<(), ms_runtime::s3::S3Error> {
/// let month_ago = SystemTime::now() - Duration::from_secs(30 * 24 * 3600);
/// let mut entries = s3.list("tmp", "", None);
/// while let Some(ListEntry::Object(object)) = entries.try_next().await? {
///     if object.last_modified.is_some_and(|modified| modified < month_ago) {
///         s3.delete("tmp", &object.key).await?;
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSummary {
    /// The key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// ETag, quoted.
    pub etag: Option<String>,
    /// Last modification.
    pub last_modified: Option<SystemTime>,
}

struct Page {
    entries: Vec<ListEntry>,
    next: Option<String>,
}

async fn page(
    shared: &Shared,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    token: Option<String>,
) -> Result<Page, S3Error> {
    let target = Target::new("ListObjectsV2", bucket, "", &shared.endpoint);
    let out = shared
        .client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .set_delimiter(delimiter.map(str::to_owned))
        .set_continuation_token(token)
        .send()
        .await
        .map_err(|e| target.map(e))?;
    let mut entries: Vec<ListEntry> = out
        .contents()
        .iter()
        .filter_map(|o| {
            Some(ListEntry::Object(ObjectSummary {
                key: o.key()?.to_owned(),
                size: o.size().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                etag: o.e_tag().map(str::to_owned),
                last_modified: o
                    .last_modified()
                    .and_then(|t| SystemTime::try_from(*t).ok()),
            }))
        })
        .collect();
    entries.extend(
        out.common_prefixes()
            .iter()
            .filter_map(|p| Some(ListEntry::Prefix(p.prefix()?.to_owned()))),
    );
    let next = if out.is_truncated() == Some(true) {
        out.next_continuation_token().map(str::to_owned)
    } else {
        None
    };
    Ok(Page { entries, next })
}

enum State {
    /// Entries of the current page, and the token of the next one (`None`
    /// once the last page has been fetched).
    Paging(VecDeque<ListEntry>, Option<Option<String>>),
    Done,
}

pub(crate) fn stream(s3: S3, bucket: &str, prefix: &str, delimiter: Option<&str>) -> ListStream {
    let (bucket, prefix, delimiter) = (
        bucket.to_owned(),
        prefix.to_owned(),
        delimiter.map(str::to_owned),
    );
    let start = State::Paging(VecDeque::new(), Some(None));
    Box::pin(stream::unfold(start, move |state| {
        let (s3, bucket, prefix, delimiter) = (
            s3.clone(),
            bucket.clone(),
            prefix.clone(),
            delimiter.clone(),
        );
        async move {
            let State::Paging(mut entries, mut next) = state else {
                return None;
            };
            loop {
                if let Some(entry) = entries.pop_front() {
                    return Some((Ok(entry), State::Paging(entries, next)));
                }
                let token = next.take()?;
                let (bucket, prefix, delimiter) =
                    (bucket.clone(), prefix.clone(), delimiter.clone());
                let fetched = s3
                    .run("list", move |shared, _permit| async move {
                        page(&shared, &bucket, &prefix, delimiter.as_deref(), token).await
                    })
                    .await;
                match fetched {
                    Ok(page) => {
                        entries = page.entries.into();
                        next = page.next.map(Some);
                    }
                    Err(e) => return Some((Err(e), State::Done)),
                }
            }
        }
    }))
}

/// Listing, a page at a time.
impl S3 {
    /// Lists keys under `prefix`, one page (1000 keys) fetched at a time as
    /// the stream is read. With a `delimiter` (usually `"/"`), keys below
    /// the next delimiter are rolled up into [`ListEntry::Prefix`](crate::s3::ListEntry::Prefix) entries.
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    /// use ms_runtime::s3::{ListEntry, S3};
    ///
    /// # async fn demo(s3: S3) -> Result<(), ms_runtime::s3::S3Error> {
    /// let mut entries = s3.list("docs", "2024/", Some("/"));
    /// while let Some(entry) = entries.try_next().await? {
    ///     match entry {
    ///         ListEntry::Object(object) => println!("{} {}", object.key, object.size),
    ///         ListEntry::Prefix(prefix) => println!("{prefix}"),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list(&self, bucket: &str, prefix: &str, delimiter: Option<&str>) -> ListStream {
        stream(self.clone(), bucket, prefix, delimiter)
    }
}
