use ms_runtime::{HandlerError, ms_service};

struct Svc;

#[ms_service(name = "svc")]
impl Svc {
    #[route("len")]
    async fn len(&self, text: &str) -> Result<usize, HandlerError> {
        Ok(text.len())
    }
}

fn main() {}
