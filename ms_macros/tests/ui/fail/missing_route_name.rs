use ms_runtime::{HandlerError, ms_service};

struct Svc;

#[ms_service(name = "svc")]
impl Svc {
    #[route]
    async fn bare(&self) -> Result<(), HandlerError> {
        Ok(())
    }

    #[route(timeout = "5s")]
    async fn options_only(&self) -> Result<(), HandlerError> {
        Ok(())
    }

    #[route("")]
    async fn empty(&self) -> Result<(), HandlerError> {
        Ok(())
    }
}

fn main() {}
