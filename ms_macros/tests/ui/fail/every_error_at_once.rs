//! One pass reports every mistake, not only the first.
use ms_runtime::{HandlerError, ms_service};

struct Svc;

#[ms_service(nam = "svc")]
impl Svc {
    #[route("a", timeout = "soon")]
    fn a(&mut self) -> Result<(), HandlerError> {
        Ok(())
    }

    #[route("a", max_in_flight = 0)]
    async fn b(&self) -> Result<(), HandlerError> {
        Ok(())
    }
}

fn main() {}
