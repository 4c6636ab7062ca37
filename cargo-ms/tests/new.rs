//! The `cargo-ms` binary as a user runs it: files written, bad input refused
//! with exit code 2 and nothing written. (Building and testing a generated
//! project is a step of `scripts/test`: it needs the whole dependency tree.)

use std::path::Path;
use std::process::{Command, Output};

fn cargo_ms(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-ms"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("cargo-ms runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn checkout() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/..")
}

#[test]
fn new_writes_a_complete_project_depending_on_the_checkout() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = cargo_ms(
        &["ms", "new", "invoice-ocr", "--ms-path", checkout()],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));

    let root = tmp.path().join("invoice-ocr");
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "src/lib.rs",
        "src/main.rs",
        "tests/service.rs",
        ".env.example",
        "README.md",
        "Dockerfile",
        ".gitignore",
    ] {
        assert!(root.join(file).is_file(), "{file} missing");
    }
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("manifest");
    let runtime = std::fs::canonicalize(Path::new(checkout()).join("ms_runtime")).expect("path");
    assert!(
        manifest.contains(&format!(
            r#"ms_runtime = {{ path = "{}" }}"#,
            runtime.display()
        )),
        "{manifest}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers, ["invoice-ocr"], "no staging folder stays behind");
}

#[test]
fn path_chooses_the_directory_and_ms_version_a_registry_dependency() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = cargo_ms(
        &[
            "new",
            "ocr",
            "--path",
            "services/ocr-svc",
            "--ms-version",
            "0.1",
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest =
        std::fs::read_to_string(tmp.path().join("services/ocr-svc/Cargo.toml")).expect("manifest");
    assert!(
        manifest.contains(r#"ms_runtime = { version = "0.1" }"#),
        "{manifest}"
    );
    assert!(!tmp.path().join("services/ocr-svc/Cargo.lock").exists());
}

#[test]
fn an_existing_directory_is_never_overwritten() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("taken");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::write(dir.join("keep.txt"), "mine").expect("write");

    let out = cargo_ms(&["ms", "new", "taken"], tmp.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(dir.join("keep.txt")).expect("kept"),
        "mine"
    );
    assert_eq!(std::fs::read_dir(&dir).expect("list").count(), 1);
}

#[test]
fn a_bad_name_or_checkout_is_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = cargo_ms(&["ms", "new", "bad.name"], tmp.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("invalid service name `bad.name`"),
        "{}",
        stderr(&out)
    );

    let out = cargo_ms(
        &["ms", "new", "fine", "--ms-path", "/nonexistent"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not an ms_runtime checkout"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_dir(tmp.path()).expect("list").count(), 0);
}

#[test]
fn without_ms_path_the_checkout_is_found_and_named() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let runtime = std::fs::canonicalize(Path::new(checkout()).join("ms_runtime")).expect("path");
    let expected = format!(r#"ms_runtime = {{ path = "{}" }}"#, runtime.display());

    // from inside the checkout
    let target = tmp.path().join("inside");
    let target = target.to_str().expect("utf-8 path");
    let out = cargo_ms(
        &["ms", "new", "ocr", "--path", target],
        Path::new(checkout()),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("the current directory is inside it"),
        "{said}"
    );
    let manifest = std::fs::read_to_string(tmp.path().join("inside/Cargo.toml")).expect("manifest");
    assert!(manifest.contains(&expected), "{manifest}");

    // from elsewhere: the checkout this binary was built from
    let out = cargo_ms(&["ms", "new", "ocr"], tmp.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("this cargo-ms was built from it"), "{said}");
    let manifest = std::fs::read_to_string(tmp.path().join("ocr/Cargo.toml")).expect("manifest");
    assert!(manifest.contains(&expected), "{manifest}");
}
