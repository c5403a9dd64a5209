//! The application layer above the libraries: what the `trainer` command runs.
//!
//! * [`experiment`]: one experiment file end to end — `[world]` generated if missing
//!   (`world`), training (`finetune`), the loss chart ([`chart`]), `[eval]` of the base and the
//!   trained model with the forgetting report (`eval`).
//! * [`prep`]: the one data-preparation command tree (`convert` of caption and
//!   classification datasets, `build-pairs`, `init-model`), thin drivers over `data` and
//!   `model`.
//!
//! Errors here are `anyhow` with context: this is the binary's code, exposed as a library so
//! its tests can call it.

pub mod chart;
pub mod experiment;
pub mod prep;
