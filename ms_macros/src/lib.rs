//! Procedural macros for ms_runtime.
