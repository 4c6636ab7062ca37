use ms_runtime::{HandlerError, ms_service};

struct Svc;

#[ms_service(name = "svc", name = "other")]
impl Svc {
    #[route("r", timeout = "1s", timeout = "2s")]
    #[route("again")]
    async fn r(&self) -> Result<(), HandlerError> {
        Ok(())
    }

    #[event("t")]
    async fn t(&self) -> Result<(), HandlerError> {
        Ok(())
    }

    #[event("t")]
    async fn t_again(&self) -> Result<(), HandlerError> {
        Ok(())
    }
}

fn main() {}
