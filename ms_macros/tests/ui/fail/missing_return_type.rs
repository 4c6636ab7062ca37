use ms_runtime::ms_service;

struct Svc;

#[ms_service(name = "svc")]
impl Svc {
    #[route("fire")]
    async fn fire(&self, text: String) {
        let _ = text;
    }
}

fn main() {}
