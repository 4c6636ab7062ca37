use ms_runtime::{HandlerError, ms_service};

struct Page {
    number: u32,
}

struct Svc;

#[ms_service(name = "svc")]
impl Svc {
    #[route("page")]
    async fn page(&self, number: u32) -> Result<Page, HandlerError> {
        Ok(Page { number })
    }

    #[route("count")]
    async fn count(&self) -> Option<u32> {
        Some(1)
    }
}

fn main() {}
