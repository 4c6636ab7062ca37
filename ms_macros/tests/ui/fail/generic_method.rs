use ms_runtime::{HandlerError, ms_service};

struct Svc;

#[ms_service(name = "svc")]
impl Svc {
    #[route("parse")]
    async fn parse<T: serde::de::DeserializeOwned>(&self, value: T) -> Result<(), HandlerError> {
        let _ = value;
        Ok(())
    }
}

fn main() {}
