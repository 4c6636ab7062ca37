//! The rules a service name must follow: it is the package, the crate,
//! the service on the gateway and the bucket in S3 all at once.

use crate::ScaffoldError;

/// Longest service name accepted: a bucket name holds at most 63 bytes.
pub const MAX_NAME_LEN: usize = 63;

/// Words a package name may not be (Rust keywords and crates every
/// program links), since the name is also the crate's name.
const RESERVED: &[&str] = &[
    "as",
    "async",
    "await",
    "break",
    "const",
    "continue",
    "crate",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "abstract",
    "become",
    "box",
    "do",
    "final",
    "macro",
    "override",
    "priv",
    "try",
    "typeof",
    "unsized",
    "virtual",
    "yield",
    "gen",
    "std",
    "core",
    "alloc",
    "proc-macro",
    "test",
    "ms-runtime",
    "ms-macros",
    "ms-protocol",
    "ms-gateway",
];

/// Names the generated code already uses: a service type named like one of
/// them would not compile.
const TAKEN_TYPE_NAMES: &[&str] = &[
    "Greeting",
    "GreetRequest",
    "Context",
    "HandlerError",
    "PutOptions",
    "Serialize",
    "Deserialize",
    "ExitCode",
    "TestKit",
    "ErrorCode",
];

/// Checks `name` against the rules of [`Project::new`](crate::Project::new).
///
/// # Errors
/// [`ScaffoldError::InvalidName`] naming the first rule broken.
pub fn validate_name(name: &str) -> Result<(), ScaffoldError> {
    let fail = |rule| {
        Err(ScaffoldError::InvalidName {
            name: name.to_owned(),
            rule,
        })
    };
    if name.len() < 3 || name.len() > MAX_NAME_LEN {
        return fail("it must be 3 to 63 characters long");
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return fail("it must start with a lowercase letter");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return fail("only lowercase letters, digits and `-` are allowed");
    }
    if name.ends_with('-') || name.contains("--") {
        return fail("`-` must sit between letters or digits");
    }
    if RESERVED.contains(&name) {
        return fail("it is a Rust keyword or a crate every service already uses");
    }
    if TAKEN_TYPE_NAMES.contains(&type_name(name).as_str()) {
        return fail("its type name would clash with a type the generated code uses");
    }
    Ok(())
}

/// `invoice-ocr` -> `InvoiceOcr`: the service type's name.
pub fn type_name(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_broken(name: &str) -> &'static str {
        match validate_name(name) {
            Err(ScaffoldError::InvalidName { rule, .. }) => rule,
            other => panic!("{name:?} should be refused, got {other:?}"),
        }
    }

    #[test]
    fn names_that_work_as_package_service_and_bucket_are_accepted() {
        for name in ["ocr", "invoice-ocr", "a1-b2", &"x".repeat(63)] {
            assert!(validate_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn each_naming_rule_is_reported() {
        assert!(rule_broken("ab").contains("3 to 63"));
        assert!(rule_broken(&"x".repeat(64)).contains("3 to 63"));
        assert!(rule_broken("1abc").contains("start with"));
        assert!(rule_broken("-abc").contains("start with"));
        assert!(rule_broken("Invoice").contains("start with"));
        assert!(rule_broken("invoice_ocr").contains("only lowercase"));
        assert!(rule_broken("inVoice").contains("only lowercase"));
        assert!(rule_broken("ocr-").contains("between"));
        assert!(rule_broken("a--b").contains("between"));
        assert!(rule_broken("std").contains("keyword"));
        assert!(rule_broken("async").contains("keyword"));
        assert!(rule_broken("greet-request").contains("clash"));
        assert!(rule_broken("context").contains("clash"));
    }

    #[test]
    fn type_names_are_camel_case() {
        assert_eq!(type_name("ocr"), "Ocr");
        assert_eq!(type_name("invoice-ocr-v2"), "InvoiceOcrV2");
    }
}
