use ms_runtime::{HandlerError, ms_service};

struct Svc;

#[ms_service(name = "my service")]
impl Svc {
    #[route("r")]
    async fn r(&self) -> Result<(), HandlerError> {
        Ok(())
    }
}

struct Other;

#[ms_service(name = ocr, colour = "blue")]
impl Other {
    #[route("r")]
    async fn r(&self) -> Result<(), HandlerError> {
        Ok(())
    }
}

fn main() {}
