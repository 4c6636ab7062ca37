use ms_runtime::ms_service;

#[ms_service(name = "svc")]
struct Svc;

trait Greet {
    fn greet(&self);
}

struct Other;

#[ms_service(name = "other")]
impl Greet for Other {
    fn greet(&self) {}
}

fn main() {}
