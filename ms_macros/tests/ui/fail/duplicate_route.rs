use ms_runtime::{HandlerError, ms_service};

struct Svc;

#[ms_service(name = "svc")]
impl Svc {
    #[route("upper")]
    async fn upper(&self, text: String) -> Result<String, HandlerError> {
        Ok(text.to_uppercase())
    }

    #[route("upper")]
    async fn shout(&self, text: String) -> Result<String, HandlerError> {
        Ok(text.to_uppercase() + "!")
    }
}

fn main() {}
