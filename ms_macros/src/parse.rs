//! Parse: tokens to a syntax model, nothing checked beyond the grammar.
//!
//! The attribute arguments `#[ms_service(...)]`, `#[route(...)]` and
//! `#[event(...)]` share one grammar: a comma-separated list of string
//! literals, flags (`blocking`) and `key = value` options. Whether each
//! argument is allowed where it stands is for `validate` to say, so that
//! every mistake is reported at once.

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, Ident, ImplItem, ItemImpl, Lit, Meta, Signature, Token};

use crate::errors::Errors;

/// One argument of one of our attributes.
pub(crate) enum Arg {
    /// `"extract"`: a name.
    Literal(Lit),
    /// `blocking`: a flag.
    Flag(Ident),
    /// `timeout = "5s"`: an option with a value.
    Option {
        /// The option's name.
        key: Ident,
        /// Its value, as written.
        value: Expr,
    },
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(Lit) {
            return input.parse().map(Self::Literal);
        }
        // any identifier, keywords too: `type = ".."` is an unknown option,
        // not a syntax error
        let key = input.call(Ident::parse_any).map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected a name in quotes, a flag like `blocking` or an option like `timeout = \"5s\"`",
            )
        })?;
        if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            let value = input.parse()?;
            Ok(Self::Option { key, value })
        } else {
            Ok(Self::Flag(key))
        }
    }
}

/// Which of our attributes marked a method.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[route(...)]`: answers requests.
    Route,
    /// `#[event(...)]`: handles events.
    Event,
}

impl Kind {
    /// The attribute's name, for messages.
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Self::Route => "route",
            Self::Event => "event",
        }
    }
}

/// A method marked `#[route]` or `#[event]`.
pub(crate) struct Marked {
    /// Which attribute.
    pub(crate) kind: Kind,
    /// The attribute itself, to point errors at.
    pub(crate) attr: Attribute,
    /// Its arguments.
    pub(crate) args: Vec<Arg>,
    /// The method's signature.
    pub(crate) sig: Signature,
}

/// The parsed `#[ms_service]` input.
pub(crate) struct Service {
    /// The arguments of `#[ms_service(...)]`.
    pub(crate) args: Vec<Arg>,
    /// The user's impl block with our attributes removed: emitted as it is.
    pub(crate) item: ItemImpl,
    /// The marked methods, in order.
    pub(crate) methods: Vec<Marked>,
    /// Grammar errors found inside the block (the block itself parsed).
    pub(crate) errors: Errors,
}

/// Parses the attribute's arguments and the impl block.
///
/// # Errors
/// When the item is not an `impl` block: nothing else can be checked.
pub(crate) fn service(attr: TokenStream, item: TokenStream) -> syn::Result<Service> {
    let mut errors = Errors::default();
    let mut item: ItemImpl = syn::parse2(item.clone()).map_err(|_| {
        syn::Error::new_spanned(
            &item,
            "#[ms_service] goes on an `impl` block: `#[ms_service(name = \"my-service\")] impl MyService { ... }`",
        )
    })?;
    let args = match arg_list.parse2(attr) {
        Ok(args) => args,
        Err(e) => {
            errors.add(e);
            Vec::new()
        }
    };
    let mut methods = Vec::new();
    for impl_item in &mut item.items {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        let (ours, theirs): (Vec<Attribute>, Vec<Attribute>) =
            method.attrs.drain(..).partition(|a| kind_of(a).is_some());
        method.attrs = theirs;
        let mut ours = ours.into_iter();
        let Some(attr) = ours.next() else {
            continue;
        };
        for extra in ours {
            errors.spanned(
                &extra,
                "a method takes one #[route] or #[event]: remove this one, or move it to a method of its own",
            );
        }
        let Some(kind) = kind_of(&attr) else {
            continue;
        };
        let args = match &attr.meta {
            Meta::Path(_) => Vec::new(),
            Meta::List(list) => match arg_list.parse2(list.tokens.clone()) {
                Ok(args) => args,
                Err(e) => {
                    errors.add(e);
                    continue;
                }
            },
            Meta::NameValue(_) => {
                errors.spanned(
                    &attr,
                    format!(
                        "write the {} in parentheses: #[{}(\"name\")]",
                        what_is_named(kind),
                        kind.attribute()
                    ),
                );
                continue;
            }
        };
        methods.push(Marked {
            kind,
            attr,
            args,
            sig: method.sig.clone(),
        });
    }
    Ok(Service {
        args,
        item,
        methods,
        errors,
    })
}

/// What the literal of an attribute names.
pub(crate) fn what_is_named(kind: Kind) -> &'static str {
    match kind {
        Kind::Route => "route name",
        Kind::Event => "topic",
    }
}

fn kind_of(attr: &Attribute) -> Option<Kind> {
    let path = attr.path();
    if path.is_ident("route") {
        Some(Kind::Route)
    } else if path.is_ident("event") {
        Some(Kind::Event)
    } else {
        None
    }
}

/// A comma-separated list of [`Arg`]s.
fn arg_list(input: ParseStream<'_>) -> syn::Result<Vec<Arg>> {
    Ok(Punctuated::<Arg, Token![,]>::parse_terminated(input)?
        .into_iter()
        .collect())
}
