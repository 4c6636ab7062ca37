//! Procedural macros for `ms_runtime`: [`macro@ms_service`].
//!
//! Use them through `ms_runtime`, which re-exports them
//! (`ms_runtime::ms_service`): the generated code names `::ms_runtime`.
//!
//! The macro works in three passes, one file each: `parse` (tokens to a
//! syntax model), `validate` (the rules, every broken one reported at once on
//! the user's token) and `expand` (the `Handler` impl).

mod errors;
mod expand;
mod parse;
mod validate;

use proc_macro::TokenStream;

#[doc = include_str!("../../docs/macro.md")]
#[proc_macro_attribute]
pub fn ms_service(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let parsed = match parse::service(attr.into(), item.clone()) {
        Ok(parsed) => parsed,
        Err(error) => {
            let errors = error.to_compile_error();
            return quote::quote!(#item #errors).into();
        }
    };
    let impl_block = parsed.item.clone();
    match validate::service(parsed) {
        Ok(service) => expand::service(&impl_block, &service),
        Err(error) => expand::failed(&impl_block, &error),
    }
    .into()
}
