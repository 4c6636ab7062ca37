use ms_runtime::{HandlerError, ms_service};

struct Svc;

#[ms_service(name = "svc")]
impl Svc {
    #[route("r")]
    fn r(&self, text: String) -> Result<String, HandlerError> {
        Ok(text)
    }
}

fn main() {}
