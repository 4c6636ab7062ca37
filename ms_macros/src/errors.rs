//! Compile errors gathered along the way, so the user sees every mistake at once.

use std::fmt::Display;

use quote::ToTokens;

/// Every error found so far, combined into one `syn::Error`.
#[derive(Default)]
pub(crate) struct Errors {
    combined: Option<syn::Error>,
    /// How many were added: lets a check tell whether it found anything.
    count: usize,
}

impl Errors {
    /// Adds an error (which may itself hold several).
    pub(crate) fn add(&mut self, error: syn::Error) {
        self.count += 1;
        match &mut self.combined {
            Some(combined) => combined.combine(error),
            None => self.combined = Some(error),
        }
    }

    /// Adds an error spanned on the user's `tokens`.
    pub(crate) fn spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.add(syn::Error::new_spanned(tokens, message));
    }

    /// How many errors were added so far.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// `Err` with all errors when there was any.
    pub(crate) fn finish(self) -> syn::Result<()> {
        self.combined.map_or(Ok(()), Err)
    }
}
