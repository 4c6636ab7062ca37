//! The shape of a route's or event's method signature.

use syn::{FnArg, Ident, ReturnType, Signature, Type};

use crate::errors::Errors;
use crate::parse::Kind;

/// The method's shape: `&self`, then an optional `&Context`, then an
/// optional payload; `async` unless `blocking`; a return type.
pub(super) fn signature(
    kind: Kind,
    sig: &Signature,
    blocking: Option<&Ident>,
    errors: &mut Errors,
) -> Option<(bool, Option<Type>, Type)> {
    let before = errors.len();
    let what = kind.attribute();
    match (&sig.asyncness, blocking) {
        (None, None) => errors.spanned(
            sig.fn_token,
            format!(
                "#[{what}] methods are `async`: write `async fn {}`{}",
                sig.ident,
                if kind == Kind::Route {
                    " (or mark the route `blocking` to run a plain `fn` on the blocking pool)"
                } else {
                    ""
                }
            ),
        ),
        (Some(asyncness), Some(_)) => errors.spanned(
            asyncness,
            "a `blocking` route is a plain `fn` that runs on the blocking pool: remove `async`",
        ),
        _ => {}
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.spanned(
            &sig.generics,
            format!(
                "#[{what}] methods cannot be generic: the payload type must be known to parse it"
            ),
        );
    }
    let mut inputs = sig.inputs.iter();
    match inputs.next() {
        Some(FnArg::Receiver(receiver))
            if matches!(&*receiver.ty, Type::Reference(r) if r.mutability.is_none()) => {}
        Some(FnArg::Receiver(receiver)) => errors.spanned(
            receiver,
            format!("#[{what}] methods take `&self`: calls run concurrently on a shared service (keep mutable state behind a `Mutex` or an atomic)"),
        ),
        _ => errors.spanned(
            &sig.ident,
            format!("#[{what}] methods take `&self` first: `fn {}(&self, ...)`", sig.ident),
        ),
    }
    let mut takes_context = false;
    let mut payload: Option<Type> = None;
    for input in inputs {
        let FnArg::Typed(typed) = input else {
            continue;
        };
        let ty = &*typed.ty;
        if is_context(ty) {
            if payload.is_some() || takes_context {
                errors.spanned(
                    ty,
                    "the `&Context` parameter comes once, right after `&self`: `(&self, ctx: &Context, payload: T)`",
                );
            } else if blocking.is_some() {
                errors.spanned(
                    ty,
                    "a `blocking` route cannot take `&Context`: it runs on another thread after the call's context is gone; log and call other services from an `async` route",
                );
            }
            takes_context = true;
        } else if payload.is_some() {
            errors.spanned(
                input,
                format!(
                    "too many parameters: #[{what}] methods take `&self`, an optional `ctx: &Context` and at most one payload; put the extra values into the payload type"
                ),
            );
        } else {
            if let Type::Reference(reference) = ty {
                errors.spanned(
                    reference,
                    "take the payload by value (`payload: T`), not by reference: it is deserialised into a value the method owns",
                );
            }
            payload = Some(ty.clone());
        }
    }
    let output = match &sig.output {
        ReturnType::Type(_, ty) => Some((**ty).clone()),
        ReturnType::Default => {
            errors.spanned(
                &sig.ident,
                format!(
                    "#[{what}] methods return `Result<{}, HandlerError>`: add `-> Result<{}, HandlerError>`",
                    if kind == Kind::Route { "T" } else { "()" },
                    if kind == Kind::Route { "MyReply" } else { "()" },
                ),
            );
            None
        }
    };
    if errors.len() != before {
        return None;
    }
    output.map(|output| (takes_context, payload, output))
}

/// `&Context`, `&ms_runtime::Context`, `&'a Context`: a shared reference to
/// a type whose path ends in `Context`.
fn is_context(ty: &Type) -> bool {
    let Type::Reference(reference) = ty else {
        return false;
    };
    if reference.mutability.is_some() {
        return false;
    }
    let Type::Path(path) = &*reference.elem else {
        return false;
    };
    path.qself.is_none()
        && path
            .path
            .segments
            .last()
            .is_some_and(|last| last.ident == "Context" && last.arguments.is_empty())
}
