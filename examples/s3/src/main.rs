//! `example-s3`: a command-line tool over the S3 handle, configured from the
//! `MS_S3_*` environment only; shows transfers with a progress bar.
//!
//! ```text
//! example-s3 put BUCKET KEY FILE
//! example-s3 get BUCKET KEY FILE
//! example-s3 ls BUCKET [PREFIX]
//! example-s3 rm BUCKET KEY
//! example-s3 presign BUCKET KEY [SECONDS]
//! example-s3 mb BUCKET
//! ```
//!
//! Exits 0 on success; on failure prints one line `example-s3: <error>` and
//! exits 1 (2 for a usage error, 0 for `--help`).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use futures_util::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use ms_runtime::Config;
use ms_runtime::s3::{GetOptions, ListEntry, Progress, PutOptions, S3};

/// A command-line tool over the runtime's S3 handle, configured from the
/// `MS_S3_*` environment (endpoint, region, keys); transfers show a
/// progress bar. Exits 0 on success, 1 on failure, 2 for a usage error.
#[derive(Parser)]
#[command(name = "example-s3", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Uploads FILE to BUCKET/KEY (multipart when large).
    Put {
        bucket: String,
        key: String,
        file: PathBuf,
    },
    /// Downloads BUCKET/KEY into FILE.
    Get {
        bucket: String,
        key: String,
        file: PathBuf,
    },
    /// Lists BUCKET under PREFIX, one level deep.
    Ls {
        bucket: String,
        #[arg(default_value = "")]
        prefix: String,
    },
    /// Deletes BUCKET/KEY.
    Rm { bucket: String, key: String },
    /// Prints a presigned GET URL for BUCKET/KEY, valid SECONDS.
    Presign {
        bucket: String,
        key: String,
        #[arg(default_value_t = 3600)]
        seconds: u64,
    },
    /// Creates BUCKET unless it exists.
    Mb { bucket: String },
}

/// A failure, printed as one line.
enum Failure {
    Run(String),
}

impl<E: std::error::Error> From<E> for Failure {
    fn from(err: E) -> Self {
        // One line: the error and its causes.
        let mut text = err.to_string();
        let mut cause = err.source();
        while let Some(c) = cause {
            text.push_str(": ");
            text.push_str(&c.to_string());
            cause = c.source();
        }
        Self::Run(text)
    }
}

/// A progress bar fed by the handle's progress callback.
fn bar(len: Option<u64>) -> (ProgressBar, Progress) {
    let bar = ProgressBar::new(len.unwrap_or(0));
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let feed = bar.clone();
    let progress = Progress::new(move |p| {
        if let Some(total) = p.total {
            feed.set_length(total);
        }
        feed.set_position(p.done);
    });
    (bar, progress)
}

async fn run(command: Command) -> Result<(), Failure> {
    let config = Config::from_env()?;
    let s3_config = config.s3.ok_or_else(|| {
        Failure::Run(
            "no S3 configured: set MS_S3_ENDPOINT, MS_S3_ACCESS_KEY_ID and MS_S3_SECRET_ACCESS_KEY"
                .to_owned(),
        )
    })?;
    let s3 = S3::connect(&s3_config)?;
    match command {
        Command::Put { bucket, key, file } => {
            let len = std::fs::metadata(&file).map(|m| m.len()).ok();
            let (bar, progress) = bar(len);
            let uploaded = s3
                .put_file(&bucket, &key, &file, PutOptions::new().progress(progress))
                .await;
            bar.finish_and_clear();
            let uploaded = uploaded?;
            println!("uploaded {} bytes to {bucket}/{key}", uploaded.size);
        }
        Command::Get { bucket, key, file } => {
            let (bar, progress) = bar(None);
            let size = s3
                .get_file(&bucket, &key, &file, GetOptions::new().progress(progress))
                .await;
            bar.finish_and_clear();
            println!("downloaded {} bytes to {}", size?, file.display());
        }
        Command::Ls { bucket, prefix } => {
            let mut entries = s3.list(&bucket, &prefix, Some("/"));
            while let Some(entry) = entries.try_next().await? {
                match entry {
                    ListEntry::Object(object) => println!("{:>12}  {}", object.size, object.key),
                    ListEntry::Prefix(prefix) => println!("{:>12}  {prefix}", "PRE"),
                }
            }
        }
        Command::Rm { bucket, key } => s3.delete(&bucket, &key).await?,
        Command::Presign {
            bucket,
            key,
            seconds,
        } => {
            println!(
                "{}",
                s3.presign_get(&bucket, &key, Duration::from_secs(seconds))
                    .await?
            );
        }
        Command::Mb { bucket } => {
            if s3.ensure_bucket(&bucket).await? {
                println!("created bucket {bucket}");
            } else {
                println!("bucket {bucket} exists");
            }
        }
    }
    Ok(())
}

fn main() {
    // --help and --version exit 0 on stdout; a usage error exits 2 on stderr
    let cli = Cli::parse();
    let outcome = actix_rt::System::new().block_on(run(cli.command));
    match outcome {
        Ok(()) => {}
        Err(Failure::Run(text)) => {
            eprintln!("example-s3: {}", text.replace('\n', " "));
            std::process::exit(1);
        }
    }
}
