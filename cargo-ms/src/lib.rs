//! The scaffold behind `cargo ms new`: checks a service name, renders the
//! project's files from templates and writes them all or none.
//!
//! ```
//! use cargo_ms::{Dependency, Project};
//!
//! let project = Project::new("invoice-ocr", Dependency::Version("0.1".into()))?;
//! let files = project.files();
//! assert!(files.iter().any(|f| f.path == "src/lib.rs"));
//! assert!(files.iter().all(|f| !f.contents.contains("{{")));
//! # Ok::<(), cargo_ms::ScaffoldError>(())
//! ```

mod locate;
mod name;

pub use locate::{Found, Located, built_from, locate};
pub use name::{MAX_NAME_LEN, type_name, validate_name};

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Why a project cannot be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScaffoldError {
    /// The name breaks a rule; the message says which.
    #[error("invalid service name `{name}`: {rule}")]
    InvalidName {
        /// The name given.
        name: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// The target directory exists; nothing was written.
    #[error("`{0}` already exists; choose another name or --path (nothing was written)")]
    Exists(PathBuf),
    /// `--ms-path` does not point at an ms_runtime checkout.
    #[error("--ms-path `{0}` is not an ms_runtime checkout (no ms_runtime/Cargo.toml in it)")]
    NotACheckout(PathBuf),
    /// Writing failed; whatever was written has been removed.
    #[error("cannot write `{path}`: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// How the new project depends on `ms_runtime`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dependency {
    /// A published version requirement, e.g. `0.1`.
    Version(String),
    /// A local checkout of this repository (its root directory).
    Checkout(PathBuf),
}

impl Dependency {
    /// A checkout dependency, after checking `root` holds `ms_runtime/`;
    /// the path is made absolute so the project can live anywhere.
    ///
    /// # Errors
    /// [`ScaffoldError::NotACheckout`].
    pub fn checkout(root: &Path) -> Result<Self, ScaffoldError> {
        let root = fs::canonicalize(root).map_err(|_| ScaffoldError::NotACheckout(root.into()))?;
        if root.join("ms_runtime").join("Cargo.toml").is_file() {
            Ok(Self::Checkout(root))
        } else {
            Err(ScaffoldError::NotACheckout(root))
        }
    }

    fn toml(&self, testing: bool) -> String {
        let features = if testing {
            r#", features = ["testing"]"#
        } else {
            ""
        };
        match self {
            Self::Version(v) => format!(r#"{{ version = "{v}"{features} }}"#),
            Self::Checkout(root) => {
                let path = root.join("ms_runtime");
                // TOML basic strings: escape backslashes and quotes
                let path = path
                    .display()
                    .to_string()
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"");
                format!(r#"{{ path = "{path}"{features} }}"#)
            }
        }
    }
}

/// One file of a new project: its path relative to the project root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Relative path, `/`-separated.
    pub path: &'static str,
    /// Full contents.
    pub contents: String,
}

/// A service project to be written: a checked name and its dependency.
#[derive(Debug, Clone)]
pub struct Project {
    /// The package (and binary) name, as given.
    package: String,
    /// The service and bucket name: the package name with `_` as `-`, lowercase.
    name: String,
    dependency: Dependency,
}

const TEMPLATES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../templates/Cargo.toml.tmpl")),
    ("src/lib.rs", include_str!("../templates/lib.rs.tmpl")),
    ("src/main.rs", include_str!("../templates/main.rs.tmpl")),
    (
        "tests/service.rs",
        include_str!("../templates/test.rs.tmpl"),
    ),
    (
        ".env.example",
        include_str!("../templates/env.example.tmpl"),
    ),
    ("README.md", include_str!("../templates/README.md.tmpl")),
    ("Dockerfile", include_str!("../templates/Dockerfile.tmpl")),
    (".gitignore", include_str!("../templates/gitignore.tmpl")),
];

impl Project {
    /// A project named `name`, as `cargo new` would name a package: the
    /// package keeps `name`; the service and its bucket take `name` in
    /// lowercase with `_` as `-` (`my_service` -> `my-service`), the form
    /// service and bucket names allow.
    ///
    /// ```
    /// use cargo_ms::{Dependency, Project};
    ///
    /// let project = Project::new("my_service", Dependency::Version("0.1".into()))?;
    /// assert_eq!(project.package(), "my_service");
    /// assert_eq!(project.name(), "my-service");
    /// # Ok::<(), cargo_ms::ScaffoldError>(())
    /// ```
    ///
    /// # Errors
    /// [`ScaffoldError::InvalidName`] unless `name` holds only ASCII
    /// letters, digits, `-` and `_`, and the service name derived from it
    /// passes [`validate_name`].
    pub fn new(name: &str, dependency: Dependency) -> Result<Self, ScaffoldError> {
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ScaffoldError::InvalidName {
                name: name.to_owned(),
                rule: "only letters, digits, `-` and `_` are allowed",
            });
        }
        let service = name.replace('_', "-").to_ascii_lowercase();
        validate_name(&service)?;
        Ok(Self {
            package: name.to_owned(),
            name: service,
            dependency,
        })
    }

    /// The service's (and bucket's) name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The package's (and binary's) name, as given.
    pub fn package(&self) -> &str {
        &self.package
    }

    /// Every file, rendered.
    pub fn files(&self) -> Vec<File> {
        let crate_name = self.package.replace('-', "_");
        let type_name = type_name(&self.name);
        let ms_runtime = self.dependency.toml(false);
        let ms_runtime_testing = self.dependency.toml(true);
        let vars: [(&str, &str); 7] = [
            ("{{package}}", &self.package),
            ("{{name}}", &self.name),
            ("{{crate_name}}", &crate_name),
            ("{{type_name}}", &type_name),
            ("{{bucket}}", &self.name),
            ("{{ms_runtime}}", &ms_runtime),
            ("{{ms_runtime_testing}}", &ms_runtime_testing),
        ];
        TEMPLATES
            .iter()
            .map(|(path, template)| File {
                path,
                contents: vars
                    .iter()
                    .fold((*template).to_owned(), |text, (key, value)| {
                        text.replace(key, value)
                    }),
            })
            .collect()
    }

    /// Writes the project into `dir`, which must not exist. Files go to a
    /// temporary sibling first and are moved into place in one rename, so a
    /// failure leaves nothing behind. With a checkout dependency, the
    /// checkout's `Cargo.lock` is copied too: the new project builds with
    /// the dependency versions tested there.
    ///
    /// # Errors
    /// [`ScaffoldError::Exists`] or [`ScaffoldError::Io`].
    pub fn write(&self, dir: &Path) -> Result<(), ScaffoldError> {
        if dir.exists() {
            return Err(ScaffoldError::Exists(dir.to_path_buf()));
        }
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(|source| ScaffoldError::Io {
            path: parent.clone(),
            source,
        })?;
        let staging = parent.join(format!(".{}.cargo-ms-{}", self.name, std::process::id()));
        let result = self.write_all(&staging).and_then(|()| {
            fs::rename(&staging, dir).map_err(|source| ScaffoldError::Io {
                path: dir.to_path_buf(),
                source,
            })
        });
        if result.is_err() {
            let _ = fs::remove_dir_all(&staging);
        }
        result
    }

    fn write_all(&self, root: &Path) -> Result<(), ScaffoldError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ScaffoldError::Io { path, source }
        };
        for file in self.files() {
            let path = root.join(file.path);
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).map_err(io(dir))?;
            }
            fs::write(&path, file.contents).map_err(io(&path))?;
        }
        if let Dependency::Checkout(checkout) = &self.dependency {
            let lock = checkout.join("Cargo.lock");
            if lock.is_file() {
                let target = root.join("Cargo.lock");
                fs::copy(&lock, &target).map_err(io(&target))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_style_names_keep_the_package_and_derive_the_service() {
        let upper = Project::new("My_Service", Dependency::Version("0.1".into())).expect("valid");
        assert_eq!(upper.name(), "my-service");
        let project = Project::new("my_service", Dependency::Version("0.1".into())).expect("valid");
        assert_eq!(project.package(), "my_service");
        assert_eq!(project.name(), "my-service");
        let files = project.files();
        let file = |path: &str| {
            files
                .iter()
                .find(|f| f.path == path)
                .map(|f| f.contents.clone())
                .expect("file")
        };
        assert!(file("Cargo.toml").contains("name = \"my_service\""));
        assert!(file(".env.example").contains("MS_SERVICE_NAME=my-service"));
        assert!(file("src/main.rs").contains("my_service::MyService"));
        assert!(file("Dockerfile").contains("target/release/my_service"));
        assert!(matches!(
            Project::new("my.service", Dependency::Version("0.1".into())),
            Err(ScaffoldError::InvalidName { .. })
        ));
    }

    #[test]
    fn every_placeholder_is_filled_in_every_file() {
        let project =
            Project::new("invoice-ocr", Dependency::Version("0.1".into())).expect("valid name");
        let files = project.files();
        assert_eq!(files.len(), TEMPLATES.len());
        for file in &files {
            assert!(
                !file.contents.contains("{{"),
                "{} keeps a placeholder",
                file.path
            );
        }
        let lib = &files
            .iter()
            .find(|f| f.path == "src/lib.rs")
            .expect("lib")
            .contents;
        assert!(lib.contains(r#"#[ms_service(name = "invoice-ocr")]"#));
        assert!(lib.contains("impl InvoiceOcr {"));
        let main = &files
            .iter()
            .find(|f| f.path == "src/main.rs")
            .expect("main")
            .contents;
        assert!(main.contains("ms_runtime::run_from_env(invoice_ocr::InvoiceOcr)"));
    }

    #[test]
    fn no_template_links_to_a_placeholder_host() {
        for (path, template) in TEMPLATES {
            assert!(
                !template.contains("example.invalid"),
                "{path} links to example.invalid"
            );
        }
    }

    #[test]
    fn the_dependency_is_a_version_or_an_absolute_checkout_path() {
        let version = Dependency::Version("0.1".into());
        assert_eq!(version.toml(false), r#"{ version = "0.1" }"#);
        assert_eq!(
            version.toml(true),
            r#"{ version = "0.1", features = ["testing"] }"#
        );
        let checkout = Dependency::Checkout(PathBuf::from("/src/ms \"x\""));
        assert_eq!(
            checkout.toml(true),
            r#"{ path = "/src/ms \"x\"/ms_runtime", features = ["testing"] }"#
        );
    }

    #[test]
    fn env_example_sets_every_variable_the_runtime_documents() {
        let project = Project::new("ocr", Dependency::Version("0.1".into())).expect("valid");
        let env = project
            .files()
            .into_iter()
            .find(|f| f.path == ".env.example")
            .expect("env file")
            .contents;
        let documented = include_str!("../../docs/configuration.md");
        let names: Vec<&str> = documented
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split('`').next())
            .filter(|n| n.starts_with("MS_"))
            .collect();
        assert!(names.len() >= 18, "found only {names:?}");
        for name in names {
            assert!(
                env.contains(&format!("{name}=")),
                "{name} missing from .env.example"
            );
        }
        assert!(env.contains("MS_CONFIG_FILE="));
        // `docker run --env-file` takes everything after `=` as the value
        for line in env.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
            let (_, value) = line.split_once('=').expect("KEY=value");
            assert!(
                !value.contains('#') && !value.contains(char::is_whitespace),
                "a comment or space inside a value: {line}"
            );
        }
        assert!(
            !env.contains("\nMS_LOG_FORMAT="),
            "left to the image's default"
        );
    }
}
