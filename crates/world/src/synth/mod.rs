//! Sound synthesizers, one file per family. Each function returns mono samples at
//! [`crate::dsp::SR`], deterministic given its arguments and the [`rng::Rng`] it is handed.
//! Levels are left to the caller (scenes and probes normalise peaks).

pub mod bell;
pub mod chirp;
pub mod click;
pub mod drum;
pub mod noise;
pub mod pluck;
pub mod tone;
pub mod voice;
