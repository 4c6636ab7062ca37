use ms_runtime::{Context, HandlerError, ms_service};

struct Svc;

#[ms_service(name = "svc")]
impl Svc {
    #[route("add")]
    async fn add(&self, ctx: &Context, a: u32, b: u32) -> Result<u32, HandlerError> {
        let _ = ctx;
        Ok(a + b)
    }
}

fn main() {}
