//! FENSE and SPIDEr-FL equal to aac-metrics 0.5.5, natively on Candle.
//!
//! * **FENSE** (Zhou et al., ICASSP 2022): per candidate, the sentence-BERT similarity
//!   (`paraphrase-TinyBERT-L6-v2`, mean pooling, L2-normalised, cosine averaged over the
//!   references) times `1 − penalty · fer`, where `fer` is 1 when the fluency-error detector
//!   (`echecker_clotho_audiocaps_base`) gives the "error" class a probability above the
//!   threshold (0.9), else 0; penalty 0.9. The corpus score is the mean over candidates.
//! * **SPIDEr-FL** (the DCASE captioning ranking): SPIDEr per candidate with the same penalty,
//!   mean over candidates. SPIDEr itself (CIDEr-D + SPICE) comes from elsewhere:
//!   [`spider_fl`] takes it per candidate.
//!
//! [`Fense::load`] reads the models from local files ([`FenseModels`]: a models directory or
//! the caches aac-metrics fills); when they are absent it fails with
//! [`Error::NotAvailable`] (`not available: <reason>`) so the caller reports "not computed",
//! never an estimate. Inference runs in batches on any candle device, in f32.
//!
//! ```no_run
//! use fense::{Fense, FenseModels, FenseOptions};
//! let device = candle_core::Device::Cpu;
//! let models = FenseModels::locate(None)?; // or Some(Path::new("models/fense"))
//! match Fense::load(&models, &device, FenseOptions::default()) {
//!     Ok(f) => {
//!         let s = f.score(&["a dog barks"], &[vec!["a dog is barking", "dogs bark"]])?;
//!         println!("FENSE {:.4}", s.fense);
//!     }
//!     Err(e) if e.is_not_available() => println!("FENSE not computed: {e}"),
//!     Err(e) => return Err(e),
//! }
//! # Ok::<(), fense::Error>(())
//! ```
//!
//! Parity: `tests/parity.rs` compares with aac-metrics' own outputs on random-weight tiny
//! checkpoints of both architectures (`scripts/make_fense_fixtures.py`).

pub mod bert;
pub mod echecker;
mod error;
pub mod locate;
pub mod sbert;
pub mod text;

use candle_core::Device;

pub use echecker::{FluencyDetector, FluencyProbs, ERROR_NAMES};
pub use error::{Error, Result};
pub use locate::FenseModels;
pub use sbert::SentenceBert;

/// aac-metrics' defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FenseOptions {
    /// Sentences per model call (aac-metrics: 32). Scores do not depend on it.
    pub batch_size: usize,
    /// A sentence is disfluent when P(error) > this (0.9).
    pub error_threshold: f64,
    /// Score multiplier for a disfluent sentence is `1 − penalty` (0.9).
    pub penalty: f64,
}

impl Default for FenseOptions {
    fn default() -> Self {
        Self {
            batch_size: 32,
            error_threshold: 0.9,
            penalty: 0.9,
        }
    }
}

/// FENSE's parts for one candidate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SentenceFense {
    /// Mean cosine similarity to the references (aac-metrics `sbert_sim`).
    pub sbert_sim: f64,
    /// The detector's probabilities.
    pub fluency: FluencyProbs,
    /// 1.0 when P(error) > threshold, else 0.0 (aac-metrics `fer`).
    pub fer: f64,
    /// `sbert_sim · (1 − penalty · fer)`.
    pub fense: f64,
}

/// FENSE over a corpus: the means over candidates, and each candidate's parts.
#[derive(Debug, Clone, PartialEq)]
pub struct FenseScores {
    pub sbert_sim: f64,
    /// Fraction of candidates judged disfluent.
    pub fer: f64,
    pub fense: f64,
    pub sentences: Vec<SentenceFense>,
}

/// SPIDEr-FL over a corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct SpiderFl {
    /// Mean of the per-candidate values.
    pub spider_fl: f64,
    /// `spider · (1 − penalty · fer)` per candidate.
    pub sentences: Vec<f64>,
}

/// Both models, ready to score.
pub struct Fense {
    sbert: SentenceBert,
    echecker: FluencyDetector,
    options: FenseOptions,
}

impl Fense {
    /// Loads the sentence-BERT and the detector onto `device`.
    pub fn load(models: &FenseModels, device: &Device, options: FenseOptions) -> Result<Self> {
        let sbert = SentenceBert::load(&models.sbert, device)?;
        let base = models.resolve_echecker_base()?;
        let echecker = FluencyDetector::load(&models.echecker, &base, device)?;
        Ok(Self {
            sbert,
            echecker,
            options,
        })
    }

    /// From already loaded models.
    pub fn new(sbert: SentenceBert, echecker: FluencyDetector, options: FenseOptions) -> Self {
        Self {
            sbert,
            echecker,
            options,
        }
    }

    pub fn options(&self) -> &FenseOptions {
        &self.options
    }

    pub fn sbert(&self) -> &SentenceBert {
        &self.sbert
    }

    pub fn echecker(&self) -> &FluencyDetector {
        &self.echecker
    }

    /// FENSE of each candidate against its references, and the corpus means
    /// (aac-metrics `fense(candidates, mult_references)`).
    pub fn score<S: AsRef<str>, R: AsRef<str>>(
        &self,
        candidates: &[S],
        references: &[Vec<R>],
    ) -> Result<FenseScores> {
        check_inputs(candidates.len(), references)?;
        let o = &self.options;
        let sims = self
            .sbert
            .similarity(candidates, references, o.batch_size)?;
        let probs = self.echecker.probs(candidates, o.batch_size)?;
        Ok(fense_from_parts(
            &sims,
            &probs,
            o.error_threshold,
            o.penalty,
        ))
    }

    /// The detector's verdict per candidate, for [`spider_fl`] (aac-metrics `fer`).
    pub fn fluency<S: AsRef<str>>(&self, candidates: &[S]) -> Result<Vec<FluencyProbs>> {
        self.echecker.probs(candidates, self.options.batch_size)
    }
}

/// Combines per-candidate similarities and detector outputs as aac-metrics'
/// `_fense_from_outputs` does. Panics if the lengths differ.
pub fn fense_from_parts(
    sbert_sim: &[f64],
    fluency: &[FluencyProbs],
    error_threshold: f64,
    penalty: f64,
) -> FenseScores {
    assert_eq!(
        sbert_sim.len(),
        fluency.len(),
        "one fluency verdict per similarity"
    );
    let sentences: Vec<SentenceFense> = sbert_sim
        .iter()
        .zip(fluency)
        .map(|(&s, &f)| {
            let fer = if f.has_error(error_threshold) {
                1.0
            } else {
                0.0
            };
            SentenceFense {
                sbert_sim: s,
                fluency: f,
                fer,
                fense: s * (1.0 - penalty * fer),
            }
        })
        .collect();
    FenseScores {
        sbert_sim: mean(sentences.iter().map(|s| s.sbert_sim)),
        fer: mean(sentences.iter().map(|s| s.fer)),
        fense: mean(sentences.iter().map(|s| s.fense)),
        sentences,
    }
}

/// SPIDEr-FL from per-candidate SPIDEr values and the detector's verdicts (aac-metrics
/// `_spider_fl_from_outputs`): `spider · (1 − penalty · [P(error) > threshold])`, mean over
/// candidates.
pub fn spider_fl(
    spider: &[f64],
    fluency: &[FluencyProbs],
    error_threshold: f64,
    penalty: f64,
) -> Result<SpiderFl> {
    if spider.len() != fluency.len() {
        return Err(Error::CountMismatch {
            spider: spider.len(),
            fluency: fluency.len(),
        });
    }
    let sentences: Vec<f64> = spider
        .iter()
        .zip(fluency)
        .map(|(&s, f)| {
            let fer = if f.has_error(error_threshold) {
                1.0
            } else {
                0.0
            };
            s * (1.0 - penalty * fer)
        })
        .collect();
    Ok(SpiderFl {
        spider_fl: mean(sentences.iter().copied()),
        sentences,
    })
}

/// Mean; NaN for no values (as numpy's mean of an empty array).
fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    sum / n as f64
}

/// aac-metrics' `check_metric_inputs`: one non-empty reference list per candidate.
pub(crate) fn check_inputs<R>(candidates: usize, references: &[Vec<R>]) -> Result<()> {
    if candidates != references.len() {
        return Err(Error::LengthMismatch {
            candidates,
            references: references.len(),
        });
    }
    if let Some(index) = references.iter().position(Vec::is_empty) {
        return Err(Error::EmptyReferences { index });
    }
    Ok(())
}
