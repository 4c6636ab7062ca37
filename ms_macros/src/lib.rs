//! Procedural macros for ms_runtime: `#[ms_service]` (being built; see issue 7).

use proc_macro::TokenStream;

/// Turns an `impl` block's async methods into a service's routes (being built:
/// for now the block is left as it is).
#[proc_macro_attribute]
pub fn ms_service(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}
