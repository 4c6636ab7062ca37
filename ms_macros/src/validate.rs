//! Validate: the parsed syntax against the rules of `#[ms_service]`, every
//! broken rule reported at once, each on the user's token with the fix.
//!
//! What only the type checker can see (a payload that is not
//! `Deserialize`, a return type that is not `Result<T, HandlerError>`, a
//! `blocking` service that is not `Clone`) is checked by the generated code
//! through the traits of `ms_runtime::__private`, whose messages say the fix.

use proc_macro2::Span;
use syn::{Expr, Ident, ItemImpl, Lit, LitInt, LitStr, Type};

use crate::errors::Errors;
use crate::parse::{self, Arg, Kind, Marked};

mod signature;
mod values;

use signature::signature;
use values::{check_name, parse_duration};

/// A service that follows every rule: what `expand` generates from.
pub(crate) struct Service {
    /// `name = "..."`.
    pub(crate) name: LitStr,
    /// `version = "..."`, or none for the crate's version.
    pub(crate) version: Option<LitStr>,
    /// The `#[route]` methods, in order.
    pub(crate) routes: Vec<Method>,
    /// The `#[event]` methods, in order.
    pub(crate) events: Vec<Method>,
}

/// A `#[route]` or `#[event]` method.
pub(crate) struct Method {
    /// The route name or topic.
    pub(crate) name: LitStr,
    /// The method's name.
    pub(crate) ident: Ident,
    /// Whether it takes `&Context` (right after `&self`).
    pub(crate) takes_context: bool,
    /// Its payload type, if it takes one.
    pub(crate) payload: Option<Type>,
    /// Its return type.
    pub(crate) output: Type,
    /// `timeout = "..."` (routes only).
    pub(crate) timeout: Option<Timeout>,
    /// `blocking` (routes only): the flag, to point errors at.
    pub(crate) blocking: Option<Ident>,
    /// `max_in_flight = N` (routes only).
    pub(crate) max_in_flight: Option<LitInt>,
}

/// A route's `timeout`.
pub(crate) struct Timeout {
    /// In milliseconds, more than zero.
    pub(crate) millis: u64,
    /// As the user wrote it, for the error message.
    pub(crate) text: String,
}

/// Checks the parsed service.
///
/// # Errors
/// Every broken rule, combined.
pub(crate) fn service(parsed: parse::Service) -> syn::Result<Service> {
    let mut errors = parsed.errors;
    check_impl(&parsed.item, &mut errors);
    let (name, version) = service_args(parsed.args, &mut errors);
    let mut routes: Vec<Method> = Vec::new();
    let mut events: Vec<Method> = Vec::new();
    for marked in parsed.methods {
        let kind = marked.kind;
        let Some(method) = method(marked, &mut errors) else {
            continue;
        };
        let same_kind = if kind == Kind::Route {
            &mut routes
        } else {
            &mut events
        };
        if let Some(first) = same_kind
            .iter()
            .find(|m| m.name.value() == method.name.value())
        {
            let message = match kind {
                Kind::Route => format!(
                    "route `{}` is already served by method `{}`: give each route its own name",
                    method.name.value(),
                    first.ident,
                ),
                Kind::Event => format!(
                    "topic `{}` is already handled by method `{}`: one method per topic",
                    method.name.value(),
                    first.ident,
                ),
            };
            errors.spanned(&method.name, message);
        }
        same_kind.push(method);
    }
    errors.finish()?;
    let name = name.ok_or_else(|| syn::Error::new(Span::call_site(), "service name missing"))?;
    Ok(Service {
        name,
        version,
        routes,
        events,
    })
}

fn check_impl(item: &ItemImpl, errors: &mut Errors) {
    if let Some((_, path, _)) = &item.trait_ {
        errors.spanned(
            path,
            "#[ms_service] goes on the service's own `impl` block (`impl MyService { ... }`), not on a trait impl: it writes the `Handler` impl itself",
        );
    }
}

/// `name = "..."` (required) and `version = "..."`.
fn service_args(args: Vec<Arg>, errors: &mut Errors) -> (Option<LitStr>, Option<LitStr>) {
    const OPTIONS: &str = "the options are `name = \"...\"` (required) and `version = \"...\"`";
    let mut name: Option<LitStr> = None;
    let mut version: Option<LitStr> = None;
    // a name given but invalid has its own error: do not also call it missing
    let name_given = args
        .iter()
        .any(|arg| matches!(arg, Arg::Option { key, .. } if key == "name"));
    for arg in args {
        match arg {
            Arg::Option { key, value } if key == "name" || key == "version" => {
                let slot = if key == "name" {
                    &mut name
                } else {
                    &mut version
                };
                if slot.is_some() {
                    errors.spanned(&key, format!("`{key}` is given twice: keep one"));
                    continue;
                }
                let Some(text) = string(&value) else {
                    errors.spanned(
                        &value,
                        format!("`{key}` takes a string in quotes: {key} = \"...\""),
                    );
                    continue;
                };
                if key == "name" {
                    if let Err(why) = check_name(&text.value()) {
                        errors.spanned(&text, format!("invalid service name: {why}"));
                        continue;
                    }
                } else if let Err(why) = check_name(&text.value()) {
                    errors.spanned(
                        &text,
                        format!("invalid version: {why}; like version = \"1.2.0\""),
                    );
                    continue;
                }
                *slot = Some(text);
            }
            Arg::Option { key, .. } | Arg::Flag(key) => {
                errors.spanned(
                    &key,
                    format!("unknown option `{key}` for #[ms_service]: {OPTIONS}"),
                );
            }
            Arg::Literal(lit) => errors.spanned(
                &lit,
                format!("name the argument: #[ms_service(name = \"...\")]; {OPTIONS}"),
            ),
        }
    }
    if !name_given {
        errors.add(syn::Error::new(
            Span::call_site(),
            "#[ms_service] needs the service's name: #[ms_service(name = \"my-service\")]",
        ));
    }
    (name, version)
}

/// One marked method, or `None` when it broke a rule (already reported).
fn method(marked: Marked, errors: &mut Errors) -> Option<Method> {
    let Marked {
        kind,
        attr,
        args,
        sig,
    } = marked;
    let before = errors.len();
    let mut args = args.into_iter();
    let name = match args.next() {
        Some(Arg::Literal(Lit::Str(name))) => {
            if let Err(why) = check_name(&name.value()) {
                errors.spanned(
                    &name,
                    format!("invalid {}: {why}", parse::what_is_named(kind)),
                );
            }
            Some(name)
        }
        Some(Arg::Literal(other)) => {
            errors.spanned(
                &other,
                format!(
                    "the {} is a string in quotes: #[{}(\"name\")]",
                    parse::what_is_named(kind),
                    kind.attribute()
                ),
            );
            None
        }
        first => {
            errors.spanned(
                &attr,
                format!(
                    "#[{}] needs the {} first: #[{}(\"{}\")]",
                    kind.attribute(),
                    parse::what_is_named(kind),
                    kind.attribute(),
                    if kind == Kind::Route {
                        "extract"
                    } else {
                        "documents.uploaded"
                    },
                ),
            );
            // the first argument is still an option to check
            if let Some(arg) = first {
                options(kind, std::iter::once(arg), errors);
            }
            None
        }
    };
    let (timeout, blocking, max_in_flight) = options(kind, args, errors);
    let shape = signature(kind, &sig, blocking.as_ref(), errors);
    let (takes_context, payload, output) = shape?;
    if errors.len() != before {
        return None;
    }
    Some(Method {
        name: name?,
        ident: sig.ident.clone(),
        takes_context,
        payload,
        output,
        timeout,
        blocking,
        max_in_flight,
    })
}

type Options = (Option<Timeout>, Option<Ident>, Option<LitInt>);

/// The options after the name.
fn options(kind: Kind, args: impl Iterator<Item = Arg>, errors: &mut Errors) -> Options {
    const ROUTE_OPTIONS: &str =
        "the options are `timeout = \"5s\"`, `blocking` and `max_in_flight = N`";
    let mut timeout: Option<Timeout> = None;
    let mut blocking: Option<Ident> = None;
    let mut max_in_flight: Option<LitInt> = None;
    let mut seen: Vec<String> = Vec::new();
    for arg in args {
        let key = match &arg {
            Arg::Literal(lit) => {
                errors.spanned(
                    lit,
                    format!(
                        "the {} comes first, and once: #[{}(\"name\", ...)]",
                        parse::what_is_named(kind),
                        kind.attribute()
                    ),
                );
                continue;
            }
            Arg::Flag(key) | Arg::Option { key, .. } => key.clone(),
        };
        if kind == Kind::Event {
            errors.spanned(
                &key,
                format!(
                    "unknown option `{key}`: #[event] takes only the topic, #[event(\"topic\")]"
                ),
            );
            continue;
        }
        let known = matches!(
            key.to_string().as_str(),
            "timeout" | "blocking" | "max_in_flight"
        );
        if !known {
            errors.spanned(
                &key,
                format!("unknown option `{key}` for #[route]: {ROUTE_OPTIONS}"),
            );
            continue;
        }
        if seen.contains(&key.to_string()) {
            errors.spanned(&key, format!("`{key}` is given twice: keep one"));
            continue;
        }
        seen.push(key.to_string());
        match arg {
            Arg::Flag(key) if key == "blocking" => blocking = Some(key),
            Arg::Option { key, value } if key == "blocking" => errors.spanned(
                &value,
                format!("`{key}` is a flag without a value: #[route(\"name\", blocking)]"),
            ),
            Arg::Option { key, value } if key == "timeout" => match string(&value) {
                Some(text) => match parse_duration(&text.value()) {
                    Ok(millis) => {
                        timeout = Some(Timeout {
                            millis,
                            text: text.value(),
                        });
                    }
                    Err(why) => errors.spanned(&text, why),
                },
                None => errors.spanned(
                    &value,
                    "`timeout` takes a duration in quotes: timeout = \"5s\" (units: ms, s, m)",
                ),
            },
            Arg::Option { key, value } if key == "max_in_flight" => match &value {
                Expr::Lit(syn::ExprLit {
                    lit: Lit::Int(n), ..
                }) if n.base10_parse::<u32>().is_ok_and(|n| n > 0) => {
                    max_in_flight = Some(n.clone());
                }
                _ => errors.spanned(
                    &value,
                    "`max_in_flight` takes a whole number from 1 to 4294967295: max_in_flight = 4",
                ),
            },
            Arg::Flag(key) | Arg::Option { key, .. } => errors.spanned(
                &key,
                format!("`{key}` takes a value: {}", example_of(&key.to_string())),
            ),
            Arg::Literal(_) => {}
        }
    }
    (timeout, blocking, max_in_flight)
}

fn example_of(key: &str) -> &'static str {
    match key {
        "timeout" => "timeout = \"5s\"",
        _ => "max_in_flight = 4",
    }
}

/// The string literal `value` is, if it is one.
fn string(value: &Expr) -> Option<LitStr> {
    match value {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(text),
            ..
        }) => Some(text.clone()),
        _ => None,
    }
}
