use ms_runtime::{HandlerError, ms_service};

struct Svc;

#[ms_service(name = "svc")]
impl Svc {
    #[route("hours", timeout = "1h")]
    async fn hours(&self) -> Result<(), HandlerError> {
        Ok(())
    }

    #[route("bare", timeout = "30")]
    async fn bare(&self) -> Result<(), HandlerError> {
        Ok(())
    }

    #[route("zero", timeout = "0ms")]
    async fn zero(&self) -> Result<(), HandlerError> {
        Ok(())
    }

    #[route("number", timeout = 5)]
    async fn number(&self) -> Result<(), HandlerError> {
        Ok(())
    }
}

fn main() {}
