//! Audio files to interleaved `f32` samples (symphonia), downmixing, and the one-call
//! `load_mono_16k` used by the data pipeline.
//!
//! Decoding is strict: a packet that fails to decode, or a file that ends before the data
//! its header declares, is an error rather than a silent gap, since a gap would shift every
//! later sample against its transcript or caption.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use crate::error::{Error, Result};
use crate::resample::resample;
use crate::SAMPLE_RATE;

/// Decoded audio as the file holds it: interleaved samples in `[-1, 1]`, at the file's rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Interleaved samples: frame `i`, channel `c` is `samples[i * channels + c]`.
    pub samples: Vec<f32>,
    /// Number of channels (at least 1).
    pub channels: usize,
    /// Sample rate in Hz.
    pub sample_rate: u32,
}

impl Decoded {
    /// Number of frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1)
    }
}

/// Where in the pipeline a symphonia error came from; it decides how the error is reported.
#[derive(Clone, Copy)]
enum Stage {
    Probe,
    Codec,
    Read,
    Decode,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Probe => "reading the container header",
            Stage::Codec => "opening the decoder",
            Stage::Read => "reading a packet",
            Stage::Decode => "decoding a packet",
        }
    }
}

/// Turns a symphonia error into ours, naming the file and what was being done.
fn classify(path: &Path, stage: Stage, err: SymError) -> Error {
    let path = path.to_path_buf();
    let what = stage.as_str();
    match err {
        SymError::IoError(e) if e.kind() == io::ErrorKind::UnexpectedEof => Error::Truncated {
            path,
            reason: format!("end of file while {what}"),
        },
        SymError::IoError(source) => Error::Unreadable { path, source },
        SymError::Unsupported(feature) => match stage {
            Stage::Probe => Error::UnsupportedFormat {
                path,
                reason: feature.to_string(),
            },
            _ => Error::UnsupportedCodec {
                path,
                reason: format!("{feature} (while {what})"),
            },
        },
        SymError::ResetRequired => Error::UnsupportedFormat {
            path,
            reason: "the track layout changes mid-stream (chained stream)".to_string(),
        },
        other => Error::Corrupt {
            path,
            reason: format!("{other} (while {what})"),
        },
    }
}

/// Opens `path`, rejecting missing files, directories and empty files with their own errors.
fn open(path: &Path) -> Result<File> {
    let unreadable = |source| Error::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(unreadable)?;
    let meta = file.metadata().map_err(unreadable)?;
    if meta.is_dir() {
        return Err(unreadable(io::Error::new(
            io::ErrorKind::InvalidInput,
            "is a directory",
        )));
    }
    if meta.len() == 0 {
        return Err(Error::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    Ok(file)
}

/// Decodes an audio file (WAV PCM 8/16/24/32-bit and float, FLAC, MP3, OGG/Vorbis) to
/// interleaved `f32` samples at the file's own rate.
///
/// The container is probed by content, with the file extension as a hint. Encoder delay and
/// padding (MP3 LAME/Xing, Vorbis) are trimmed (symphonia's gapless decoding). A file that
/// decodes to zero samples is an error ([`Error::NoSamples`]).
pub fn decode_file(path: &Path) -> Result<Decoded> {
    let file = open(path)?;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let mut format = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| classify(path, Stage::Probe, e))?;

    let no_track = || Error::NoAudioTrack {
        path: path.to_path_buf(),
    };
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(no_track)?;
    let track_id = track.id;
    let expected_frames = track.num_frames;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(no_track)?
        .clone();
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| classify(path, Stage::Codec, e))?;

    let mut layout = Layout {
        path: path.to_path_buf(),
        channels: params.channels.as_ref().map(|c| c.count()),
        rate: params.sample_rate,
    };
    let mut samples: Vec<f32> = Vec::new();
    if let (Some(frames), Some(ch)) = (expected_frames, layout.channels) {
        // A hint only: a lying header must not make us allocate gigabytes up front.
        let hinted = usize::try_from(frames).unwrap_or(0).saturating_mul(ch);
        samples.reserve(hinted.min(1 << 28));
    }

    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            Err(e) => return Err(classify(path, Stage::Read, e)),
        };
        if packet.track_id != track_id {
            continue;
        }
        let buf = decoder
            .decode(&packet)
            .map_err(|e| classify(path, Stage::Decode, e))?;
        if buf.frames() == 0 {
            continue;
        }
        layout.check(buf.spec().rate(), buf.spec().channels().count())?;
        let start = samples.len();
        samples.resize(start + buf.samples_interleaved(), 0.0);
        buf.copy_to_slice_interleaved(&mut samples[start..]);
    }

    if samples.is_empty() {
        return Err(Error::NoSamples {
            path: path.to_path_buf(),
        });
    }
    let (sample_rate, channels) = layout.finish()?;
    if samples.iter().any(|s| !s.is_finite()) {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            reason: "decoded samples contain NaN or infinity".to_string(),
        });
    }
    Ok(Decoded {
        samples,
        channels,
        sample_rate,
    })
}

/// The stream's rate and channel count, fixed by the header or the first decoded packet;
/// later packets must agree.
struct Layout {
    path: PathBuf,
    channels: Option<usize>,
    rate: Option<u32>,
}

impl Layout {
    fn check(&mut self, rate: u32, channels: usize) -> Result<()> {
        let corrupt = |reason: String| Error::Corrupt {
            path: self.path.clone(),
            reason,
        };
        match self.rate {
            Some(r) if r != rate => {
                return Err(corrupt(format!(
                    "sample rate changes mid-stream ({r} Hz -> {rate} Hz)"
                )))
            }
            _ => self.rate = Some(rate),
        }
        match self.channels {
            Some(c) if c != channels => {
                return Err(corrupt(format!(
                    "channel count changes mid-stream ({c} -> {channels})"
                )))
            }
            _ => self.channels = Some(channels),
        }
        Ok(())
    }

    fn finish(&self) -> Result<(u32, usize)> {
        let corrupt = |reason: &str| Error::Corrupt {
            path: self.path.clone(),
            reason: reason.to_string(),
        };
        let rate = match self.rate {
            Some(r) if r > 0 => r,
            _ => return Err(corrupt("the stream declares no sample rate")),
        };
        let channels = match self.channels {
            Some(c) if c > 0 => c,
            _ => return Err(corrupt("the stream declares no channels")),
        };
        Ok((rate, channels))
    }
}

/// Mono mix: the mean of the channels of each frame (a mono input is returned as is).
pub fn downmix(d: &Decoded) -> Vec<f32> {
    let ch = d.channels.max(1);
    if ch == 1 {
        return d.samples.clone();
    }
    let scale = 1.0 / ch as f32;
    d.samples
        .chunks_exact(ch)
        .map(|frame| frame.iter().sum::<f32>() * scale)
        .collect()
}

/// Decodes `path`, mixes it to mono and resamples it to 16 kHz: the model's input samples.
///
/// Errors if the result holds no samples.
pub fn load_mono_16k(path: &Path) -> Result<Vec<f32>> {
    let decoded = decode_file(path)?;
    let mono = downmix(&decoded);
    let out = resample(&mono, decoded.sample_rate, SAMPLE_RATE)?;
    if out.is_empty() {
        return Err(Error::NoSamples {
            path: path.to_path_buf(),
        });
    }
    Ok(out)
}
