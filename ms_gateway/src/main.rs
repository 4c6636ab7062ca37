//! `ms-gateway`: the reference communication gateway (being built in issue 3).

fn main() {
    eprintln!("ms-gateway is not built yet; see issue 3");
    std::process::exit(2);
}
