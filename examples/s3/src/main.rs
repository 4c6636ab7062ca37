//! `example-s3`: a command-line tool over the S3 handle (being built; see issue 6).

fn main() {
    eprintln!("example-s3 is not built yet");
    std::process::exit(2);
}
