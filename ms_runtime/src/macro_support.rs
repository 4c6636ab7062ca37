//! Items used only by the code `#[ms_service]` generates. Not part of the
//! public API: names and signatures may change in any release.
