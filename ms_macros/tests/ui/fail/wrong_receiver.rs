use ms_runtime::{HandlerError, ms_service};

struct Svc;

#[ms_service(name = "svc")]
impl Svc {
    #[route("by_mut")]
    async fn by_mut(&mut self, text: String) -> Result<String, HandlerError> {
        Ok(text)
    }

    #[route("by_value")]
    async fn by_value(self, text: String) -> Result<String, HandlerError> {
        Ok(text)
    }

    #[route("none")]
    async fn none(text: String) -> Result<String, HandlerError> {
        Ok(text)
    }
}

fn main() {}
