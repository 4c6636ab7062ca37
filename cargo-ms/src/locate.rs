//! Where the `ms_runtime` crates come from when `cargo ms new` is given
//! neither `--ms-path` nor `--ms-version`.
//!
//! The crates are not on crates.io yet, so a project depending on a version
//! would not resolve. A checkout of this repository is the one source that
//! works: the one the user stands in, else the one this binary was built
//! from, if it is still there.

use std::path::{Path, PathBuf};

/// How a checkout was found; said to the user, so they know what the new
/// project depends on and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// The current directory is inside the checkout.
    Enclosing,
    /// This `cargo-ms` binary was built from the checkout.
    BuiltFrom,
}

/// A checkout of this repository, and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The checkout's root directory (holding `ms_runtime/Cargo.toml`).
    pub root: PathBuf,
    /// How it was found.
    pub found: Found,
}

/// The checkout this binary was built from, as recorded at build time; it
/// may have moved or been deleted since, which [`locate`] checks.
pub fn built_from() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Finds a checkout: the nearest directory at or above `start` that holds
/// `ms_runtime/Cargo.toml`, else `built_from` if it still holds one.
/// `None` when neither does.
pub fn locate(start: &Path, built_from: Option<&Path>) -> Option<Located> {
    if let Some(root) = start.ancestors().find(|dir| is_checkout(dir)) {
        return Some(Located {
            root: root.to_path_buf(),
            found: Found::Enclosing,
        });
    }
    built_from
        .filter(|dir| is_checkout(dir))
        .map(|root| Located {
            root: root.to_path_buf(),
            found: Found::BuiltFrom,
        })
}

/// A checkout has the runtime crate and the workspace manifest beside it.
fn is_checkout(dir: &Path) -> bool {
    dir.join("ms_runtime").join("Cargo.toml").is_file() && dir.join("Cargo.toml").is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_checkout(dir: &Path) {
        std::fs::create_dir_all(dir.join("ms_runtime")).unwrap();
        std::fs::write(dir.join("Cargo.toml"), "[workspace]\n").unwrap();
        std::fs::write(dir.join("ms_runtime/Cargo.toml"), "[package]\n").unwrap();
    }

    #[test]
    fn the_enclosing_checkout_wins_over_the_one_built_from() {
        let tmp = tempfile::tempdir().unwrap();
        let (here, built) = (tmp.path().join("here"), tmp.path().join("built"));
        fake_checkout(&here);
        fake_checkout(&built);
        let deep = here.join("services/new");
        std::fs::create_dir_all(&deep).unwrap();

        let located = locate(&deep, Some(&built)).unwrap();
        assert_eq!(located.root, here);
        assert_eq!(located.found, Found::Enclosing);
    }

    #[test]
    fn the_checkout_built_from_counts_only_while_it_exists() {
        let tmp = tempfile::tempdir().unwrap();
        let (elsewhere, built) = (tmp.path().join("elsewhere"), tmp.path().join("built"));
        std::fs::create_dir_all(&elsewhere).unwrap();
        fake_checkout(&built);
        let located = locate(&elsewhere, Some(&built)).unwrap();
        assert_eq!(located.found, Found::BuiltFrom);

        std::fs::remove_dir_all(&built).unwrap();
        assert_eq!(locate(&elsewhere, Some(&built)), None);
        assert_eq!(locate(&elsewhere, None), None);
    }
}
