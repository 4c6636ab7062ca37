use ms_runtime::{HandlerError, ms_service};

struct Svc;

#[ms_service(name = "svc")]
impl Svc {
    #[route("r", retries = 3)]
    async fn r(&self) -> Result<(), HandlerError> {
        Ok(())
    }

    #[route("s", blockin)]
    async fn s(&self) -> Result<(), HandlerError> {
        Ok(())
    }

    #[event("t", timeout = "5s")]
    async fn t(&self) -> Result<(), HandlerError> {
        Ok(())
    }
}

fn main() {}
