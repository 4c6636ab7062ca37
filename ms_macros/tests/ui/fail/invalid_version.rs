use ms_runtime::{HandlerError, ms_service};

struct Svc;

#[ms_service(name = "svc", version = "1.0.0+build 7")]
impl Svc {
    #[route("r")]
    async fn r(&self) -> Result<(), HandlerError> {
        Ok(())
    }
}

fn main() {}
