use ms_runtime::{HandlerError, ms_service};

struct Page {
    number: u32,
}

struct Svc;

#[ms_service(name = "svc")]
impl Svc {
    #[route("page")]
    async fn page(&self, page: Page) -> Result<u32, HandlerError> {
        Ok(page.number)
    }
}

fn main() {}
