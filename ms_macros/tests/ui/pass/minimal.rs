//! The least a service needs: a name and one route; the version defaults to
//! the crate's.
#![deny(warnings)]

use ms_runtime::{Handler, HandlerError, ms_service};

struct Hello;

#[ms_service(name = "hello")]
impl Hello {
    #[route("hello")]
    async fn hello(&self, name: String) -> Result<String, HandlerError> {
        Ok(format!("hello, {name}"))
    }
}

fn main() {
    assert_eq!(Hello.name(), "hello");
    assert_eq!(Hello.version(), env!("CARGO_PKG_VERSION"));
    assert!(Hello.topics().is_empty());
}
