//! Object storage: the S3 actor and its handle [`S3`].
//!
//! [`S3::connect`] starts the actor on its own arbiter from an
//! [`S3Config`](crate::S3Config) and returns a cheap `Clone` handle whose async
//! methods put, get, list, delete, copy and presign objects in any
//! S3-compatible store (MinIO, Ceph RGW, AWS S3). Large objects move in parts
//! with a bounded number in flight; downloads to a file are atomic; every
//! failure is an [`S3Error`] variant a caller can act on.
//!
//! Claim checks ([`S3::put_claim`], [`S3::fetch_claim`]) carry payloads too
//! large for a websocket frame; see `docs/s3.md`.
//!
//! # Examples
//!
//! ```no_run
//! use futures_util::TryStreamExt;
//! use ms_runtime::s3::{GetOptions, ListEntry, PutOptions, S3};
//!
//! # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ms_runtime::Config::from_env()?;
//! let s3 = S3::connect(config.s3.as_ref().ok_or("set MS_S3_ENDPOINT and the keys")?)?;
//! s3.ensure_bucket("scans").await?;
//! s3.put_file("scans", "2024/a.pdf", "a.pdf", PutOptions::new().content_type("application/pdf")).await?;
//! let mut entries = s3.list("scans", "2024/", None);
//! while let Some(ListEntry::Object(object)) = entries.try_next().await? {
//!     println!("{} ({} bytes)", object.key, object.size);
//! }
//! s3.get_file("scans", "2024/a.pdf", "copy.pdf", GetOptions::new()).await?;
//! # Ok(()) }
//! ```

mod actor;
mod claim;
mod client;
mod credentials;
mod download;
mod error;
mod handle;
mod list;
mod ops;
mod options;
mod upload;

pub use claim::CLAIM_CONTENT_TYPE;
pub use error::{BoxError, S3Error};
pub use handle::{ObjectInfo, ObjectStream, S3, Uploaded};
pub use list::{ListEntry, ListStream, ObjectSummary};
pub use options::{
    DEFAULT_CLAIM_PREFIX, DEFAULT_MAX_CONCURRENT, DEFAULT_MAX_IN_MEMORY, DEFAULT_PART_SIZE,
    DEFAULT_PARTS_IN_FLIGHT, GetOptions, Progress, PutOptions, S3Options, TransferProgress,
};
