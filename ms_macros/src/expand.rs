//! Expand: the validated service to its `Handler` impl.
//!
//! Generated code names everything by absolute path (`::ms_runtime::...`,
//! `::core::...`, `::std::...`), its own locals start with `__ms_`, and
//! every bound the type checker enforces goes through a trait of
//! `ms_runtime::__private` spanned on the user's type, so a failure reads as
//! our message on the user's token.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::ItemImpl;

use crate::validate::{Method, Service};

/// The user's impl block followed by the generated `Handler` impl.
pub(crate) fn service(item: &ItemImpl, service: &Service) -> TokenStream {
    let (impl_generics, _, where_clause) = item.generics.split_for_impl();
    let self_ty = &item.self_ty;
    let name = &service.name;
    let version = match &service.version {
        Some(version) => version.to_token_stream(),
        None => quote!(::core::env!("CARGO_PKG_VERSION")),
    };
    let route_names = service.routes.iter().map(|r| &r.name);
    let handle_body = if service.routes.is_empty() {
        quote! {
            ::core::result::Result::Err(::ms_runtime::__private::unknown_route(&__ms_request))
        }
    } else {
        let arms = service.routes.iter().map(route_arm);
        quote! {
            match __ms_request.route.as_str() {
                #(#arms)*
                _ => ::core::result::Result::Err(
                    ::ms_runtime::__private::unknown_route(&__ms_request),
                ),
            }
        }
    };
    let events = if service.events.is_empty() {
        TokenStream::new()
    } else {
        let topics = service.events.iter().map(|e| &e.name);
        let arms = service.events.iter().map(event_arm);
        quote! {
            fn topics(&self) -> ::std::vec::Vec<::std::string::String> {
                ::std::vec![#(::std::string::String::from(#topics)),*]
            }

            async fn on_event(
                &self,
                __ms_ctx: &::ms_runtime::Context,
                #[allow(unused_mut)] mut __ms_event: ::ms_runtime::Event,
            ) -> ::core::result::Result<(), ::ms_runtime::HandlerError> {
                match __ms_event.topic.as_str() {
                    #(#arms)*
                    _ => ::core::result::Result::Err(
                        ::ms_runtime::__private::unknown_topic(&__ms_event),
                    ),
                }
            }
        }
    };
    quote! {
        #item

        impl #impl_generics ::ms_runtime::Handler for #self_ty #where_clause {
            fn name(&self) -> &str {
                #name
            }

            fn version(&self) -> &str {
                #version
            }

            fn routes(&self) -> ::std::vec::Vec<::std::string::String> {
                ::std::vec![#(::std::string::String::from(#route_names)),*]
            }

            async fn handle(
                &self,
                __ms_ctx: &::ms_runtime::Context,
                #[allow(unused_mut)] mut __ms_request: ::ms_runtime::Request,
            ) -> ::core::result::Result<::ms_runtime::protocol::Json, ::ms_runtime::HandlerError> {
                #handle_body
            }

            #events
        }
    }
}

/// The user's impl block (our attributes removed, so they add no error of
/// their own), then our errors, then a stand-in `Handler` impl so that code
/// using the service as a handler adds no error either: only ours show.
pub(crate) fn failed(item: &ItemImpl, error: &syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    if item.trait_.is_some() {
        return quote! { #item #errors };
    }
    let (impl_generics, _, where_clause) = item.generics.split_for_impl();
    let self_ty = &item.self_ty;
    quote! {
        #item
        #errors

        impl #impl_generics ::ms_runtime::Handler for #self_ty #where_clause {
            fn name(&self) -> &str {
                ""
            }

            fn routes(&self) -> ::std::vec::Vec<::std::string::String> {
                ::std::vec::Vec::new()
            }

            async fn handle(
                &self,
                _: &::ms_runtime::Context,
                _: ::ms_runtime::Request,
            ) -> ::core::result::Result<::ms_runtime::protocol::Json, ::ms_runtime::HandlerError> {
                ::core::result::Result::Err(::ms_runtime::HandlerError::internal(
                    "#[ms_service] failed to compile",
                ))
            }
        }
    }
}

/// `"route" => { ... }` in `handle`.
fn route_arm(route: &Method) -> TokenStream {
    let name = &route.name;
    let bulkhead = route.max_in_flight.as_ref().map(|limit| {
        quote! {
            static __MS_BULKHEAD: ::ms_runtime::__private::Bulkhead =
                ::ms_runtime::__private::Bulkhead::new(#limit);
            let __ms_permit = __MS_BULKHEAD.enter(#name)?;
        }
    });
    let (decode, payload_arg) = match &route.payload {
        Some(ty) => (
            quote! {
                let __ms_payload = ::ms_runtime::__private::decode::<#ty>(&mut __ms_request)?;
            },
            quote!(__ms_payload),
        ),
        None => (TokenStream::new(), TokenStream::new()),
    };
    let ident = &route.ident;
    let output = &route.output;
    let call = match &route.blocking {
        None => {
            let ctx_arg = route.takes_context.then(|| quote!(__ms_ctx,));
            // the turbofish carries the user's span: a bound not met is
            // reported on the return type as written
            quote! {
                ::ms_runtime::__private::encode::<#output>(Self::#ident(self, #ctx_arg #payload_arg).await)
            }
        }
        Some(_) => {
            let service_ty = quote_spanned!(ident.span()=> Self);
            quote! {{
                let __ms_service = ::ms_runtime::__private::clone_for_blocking::<#service_ty>(self);
                let __ms_output = __ms_ctx
                    .spawn_blocking(move || Self::#ident(&__ms_service, #payload_arg))
                    .await?;
                ::ms_runtime::__private::encode::<#output>(__ms_output)
            }}
        }
    };
    let answer = match &route.timeout {
        None => call,
        Some(timeout) => {
            let millis = timeout.millis;
            let text = &timeout.text;
            quote! {
                ::ms_runtime::__private::within(
                    #name,
                    ::core::time::Duration::from_millis(#millis),
                    #text,
                    async move { #call },
                )
                .await
            }
        }
    };
    quote! {
        #name => {
            #bulkhead
            #decode
            #answer
        }
    }
}

/// `"topic" => { ... }` in `on_event`.
fn event_arm(event: &Method) -> TokenStream {
    let name = &event.name;
    let (decode, payload_arg) = match &event.payload {
        Some(ty) => (
            quote! {
                let __ms_payload = ::ms_runtime::__private::decode_event::<#ty>(&mut __ms_event)?;
            },
            quote!(__ms_payload),
        ),
        None => (TokenStream::new(), TokenStream::new()),
    };
    let ident = &event.ident;
    let ctx_arg = event.takes_context.then(|| quote!(__ms_ctx,));
    let output = &event.output;
    let call = quote! {
        ::ms_runtime::__private::outcome::<#output>(Self::#ident(self, #ctx_arg #payload_arg).await)
    };
    quote! {
        #name => {
            #decode
            #call
        }
    }
}
