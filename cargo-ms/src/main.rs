//! `cargo ms`: project tools for ms_runtime services.
//!
//! ```text
//! cargo ms new NAME [--path DIR] [--ms-path CHECKOUT]
//! ```
//!
//! Installed with `cargo install --path cargo-ms`, cargo finds it as the
//! `ms` subcommand; `cargo-ms new NAME` works too.

use std::path::PathBuf;
use std::process::ExitCode;

use cargo_ms::{Dependency, Project};
use clap::{Parser, Subcommand};

/// Project tools for ms_runtime services.
#[derive(Debug, Parser)]
#[command(name = "cargo ms", bin_name = "cargo ms", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// A new service project that builds, passes its tests and runs against
    /// a local gateway with no edits.
    New {
        /// The service's name: also its package, crate and default bucket
        /// name (3-63 of a-z 0-9 -, starting with a letter).
        name: String,
        /// The directory to create (default: ./NAME). It must not exist.
        #[arg(long, value_name = "DIR")]
        path: Option<PathBuf>,
        /// Depend on a local ms_runtime checkout instead of the published
        /// version (for development of ms_runtime itself).
        #[arg(long, value_name = "CHECKOUT")]
        ms_path: Option<PathBuf>,
        /// The ms_runtime version to depend on without --ms-path.
        #[arg(long, default_value = "0.1", conflicts_with = "ms_path")]
        ms_version: String,
    },
}

fn main() -> ExitCode {
    // `cargo ms new x` runs `cargo-ms ms new x`: drop the subcommand's own name.
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "ms") {
        args.remove(1);
    }
    let Command::New {
        name,
        path,
        ms_path,
        ms_version,
    } = Cli::parse_from(args).command;

    let created = ms_path
        .map(|root| Dependency::checkout(&root))
        .unwrap_or(Ok(Dependency::Version(ms_version)))
        .and_then(|dependency| Project::new(&name, dependency))
        .and_then(|project| {
            let dir = path.unwrap_or_else(|| PathBuf::from(&name));
            project
                .write(&dir)
                .map(|()| (dir, project.name().to_owned()))
        });
    match created {
        Ok((dir, service)) => {
            let shown = dir.display();
            println!("created service `{service}` in {shown}");
            if service != name {
                println!(
                    "  (package `{name}`; the service and its bucket are named `{service}`: \
                     service and bucket names take lowercase and `-`, not `_`)"
                );
            }
            println!();
            println!("  cd {shown}");
            println!(
                "  cargo test                         # against an in-process gateway and S3 store"
            );
            println!("  set -a; . ./.env.example; set +a   # settings for `ms-gateway --dev`");
            println!("  cargo run                          # needs a gateway: see README.md");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cargo ms new: {e}");
            ExitCode::from(2)
        }
    }
}
