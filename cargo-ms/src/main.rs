//! `cargo ms`: project tools for ms_runtime services.
//!
//! ```text
//! cargo ms new NAME [--path DIR] [--ms-path CHECKOUT | --ms-version VERSION]
//! ```
//!
//! Installed with `cargo install --path cargo-ms`, cargo finds it as the
//! `ms` subcommand; `cargo-ms new NAME` works too.

use std::path::PathBuf;
use std::process::ExitCode;

use cargo_ms::{Dependency, Found, Project};
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
        /// Depend on this local ms_runtime checkout. Without it (and
        /// without --ms-version), the checkout around the current directory
        /// is used, else the one cargo-ms was built from.
        #[arg(long, value_name = "CHECKOUT")]
        ms_path: Option<PathBuf>,
        /// Depend on this ms_runtime version from a registry instead of a
        /// checkout (the crates are not on crates.io yet).
        #[arg(long, value_name = "VERSION", conflicts_with = "ms_path")]
        ms_version: Option<String>,
    },
}

/// The checkout to depend on when none is named, said out loud: the one
/// around the current directory, else the one this binary was built from.
fn default_checkout() -> Option<Result<Dependency, cargo_ms::ScaffoldError>> {
    let here = std::env::current_dir().ok()?;
    let located = cargo_ms::locate(&here, Some(&cargo_ms::built_from()))?;
    let dependency = Dependency::checkout(&located.root);
    if let Ok(Dependency::Checkout(root)) = &dependency {
        let how = match located.found {
            Found::Enclosing => "the current directory is inside it",
            Found::BuiltFrom => "this cargo-ms was built from it",
        };
        println!(
            "depending on the ms_runtime checkout at {} by path ({how}); \
             --ms-path DIR chooses another",
            root.display()
        );
    }
    Some(dependency)
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

    let dependency = match (ms_path, ms_version) {
        (Some(root), _) => Dependency::checkout(&root),
        (None, Some(version)) => Ok(Dependency::Version(version)),
        (None, None) => match default_checkout() {
            Some(dependency) => dependency,
            None => {
                eprintln!(
                    "cargo ms new: no ms_runtime checkout found, and the ms_runtime crates are \
                     not on crates.io yet, so a project depending on a version would not build \
                     (nothing was written).\n  \
                     Run this inside a checkout of the ms_runtime repository, or name one:  \
                     cargo ms new {name} --ms-path /path/to/ms_runtime\n  \
                     (--ms-version VERSION depends on a registry that has the crates)"
                );
                return ExitCode::from(2);
            }
        },
    };
    let created = dependency
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
