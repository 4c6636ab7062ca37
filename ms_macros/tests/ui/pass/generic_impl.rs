//! A generic service: the impl's generics and `where` clause carry over to
//! the generated `Handler` impl, bulkheads and blocking routes included.
#![deny(warnings)]

use std::marker::PhantomData;

use ms_runtime::{Handler, HandlerError, ms_service};

#[derive(Clone)]
struct Store<T> {
    kind: PhantomData<T>,
}

#[ms_service(name = "store")]
impl<T> Store<T>
where
    T: Default + serde::Serialize + Clone + Send + Sync + 'static,
{
    #[route("get", max_in_flight = 8)]
    async fn get(&self) -> Result<T, HandlerError> {
        Ok(T::default())
    }

    #[route("heavy", blocking)]
    fn heavy(&self, n: u64) -> Result<u64, HandlerError> {
        Ok(n * 2)
    }
}

fn main() {
    let store = Store::<String> { kind: PhantomData };
    assert_eq!(store.routes(), ["get", "heavy"]);
}
