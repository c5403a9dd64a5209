//! Video files (MP4 / MOV with H.264) to 8-bit RGB frames, and folders of frame images.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use openh264::decoder::{Decoder, DecoderConfig, Flush};
use openh264::formats::YUVSource;
use openh264::OpenH264API;

use super::h264::{annex_b, split_nals, AvcConfig, SpsInfo};
use super::mp4::{Mp4File, VideoTrack};
use super::yuv::YuvToRgb;
use crate::{Error, Result, RgbImage};

/// What the container says about a video file's (first) video track, read without decoding.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoInfo {
    /// Frames (samples) in the track: `stsz`'s sample count.
    pub frames: usize,
    /// Average frame rate as FFmpeg's `avg_frame_rate` states it for an MP4 (what decord,
    /// torchcodec and PyAV report): `frames × timescale / Σ sample durations`.
    pub fps: f64,
    /// Σ sample durations / timescale, in seconds.
    pub duration_s: f64,
    /// Width and height stated by the sample entry (the decoded frames' size is the truth).
    pub width: usize,
    pub height: usize,
    /// The sample entry's codec code (`avc1`, `avc3`, ...).
    pub codec: String,
}

impl VideoInfo {
    fn of(track: &VideoTrack) -> Self {
        VideoInfo {
            frames: track.samples.len(),
            fps: track.avg_fps().unwrap_or(0.0),
            duration_s: track.duration as f64 / f64::from(track.timescale),
            width: usize::from(track.width),
            height: usize::from(track.height),
            codec: track.codec_name(),
        }
    }
}

/// Reads a video file's container metadata (frame count, frame rate, size, codec) without
/// decoding a frame. Errors name the file.
pub fn probe_video(path: &Path) -> Result<VideoInfo> {
    let (_, track) = Mp4File::open(path)?;
    let info = VideoInfo::of(&track);
    if info.fps <= 0.0 {
        return Err(Error::VideoCorrupt {
            path: path.to_path_buf(),
            reason: "the sample durations sum to 0: no frame rate".into(),
        });
    }
    Ok(info)
}

/// Decodes every frame of a video file (MP4 / MOV, H.264), in presentation order.
pub fn decode_video(path: &Path) -> Result<(VideoInfo, Vec<RgbImage>)> {
    let mut frames = Vec::new();
    let info = decode_with(path, |_| true, |_, img| frames.push(img))?;
    Ok((info, frames))
}

/// Decodes a video file and keeps the frames at `indices` (presentation order, 0-based), in
/// the order given (an index may repeat). Every frame is decoded (H.264 frames depend on each
/// other); only the kept ones are converted to RGB. An index past the last frame is an
/// [`Error::FrameIndex`].
pub fn decode_video_frames(path: &Path, indices: &[usize]) -> Result<(VideoInfo, Vec<RgbImage>)> {
    let wanted: std::collections::BTreeSet<usize> = indices.iter().copied().collect();
    let mut kept: BTreeMap<usize, RgbImage> = BTreeMap::new();
    let info = decode_with(
        path,
        |i| wanted.contains(&i),
        |i, img| {
            kept.insert(i, img);
        },
    )?;
    let mut out = Vec::with_capacity(indices.len());
    for &i in indices {
        match kept.get(&i) {
            Some(img) => out.push(img.clone()),
            None => {
                return Err(Error::FrameIndex {
                    path: path.to_path_buf(),
                    index: i,
                    frames: info.frames,
                })
            }
        }
    }
    Ok((info, out))
}

/// The decoding loop: every sample through OpenH264; `keep(i)` says whether output frame
/// `i` is converted to RGB and handed to `sink`.
fn decode_with(
    path: &Path,
    keep: impl Fn(usize) -> bool,
    mut sink: impl FnMut(usize, RgbImage),
) -> Result<VideoInfo> {
    let p = || path.to_path_buf();
    let (mut file, track) = Mp4File::open(path)?;
    let info = VideoInfo::of(&track);
    if !matches!(&track.codec, b"avc1" | b"avc3") {
        return Err(Error::UnsupportedCodec {
            path: p(),
            codec: info.codec.clone(),
            reason: "only H.264 (avc1, avc3) is supported".into(),
        });
    }
    if info.fps <= 0.0 {
        return Err(Error::VideoCorrupt {
            path: p(),
            reason: "the sample durations sum to 0: no frame rate".into(),
        });
    }
    let corrupt = |reason: String| Error::VideoCorrupt { path: p(), reason };
    let avcc = match &track.avcc {
        Some(bytes) => AvcConfig::parse(bytes).map_err(corrupt)?,
        None if &track.codec == b"avc1" => {
            return Err(corrupt("the 'avc1' sample entry has no 'avcC' box".into()))
        }
        None => AvcConfig {
            length_size: 4,
            ..Default::default()
        },
    };

    // The sequence parameter set: from avcC, or (avc3) the first sample's.
    let first = file.read_sample(&track.samples[0])?;
    let first_nals = split_nals(&first, avcc.length_size).map_err(corrupt)?;
    let sps_nal = avcc
        .sps
        .first()
        .map(Vec::as_slice)
        .or_else(|| first_nals.iter().copied().find(|n| n[0] & 0x1f == 7))
        .ok_or_else(|| corrupt("no sequence parameter set (SPS) in 'avcC' or the stream".into()))?;
    let sps = SpsInfo::parse(sps_nal).map_err(corrupt)?;
    if let Some(reason) = sps.unsupported() {
        return Err(Error::UnsupportedCodec {
            path: p(),
            codec: info.codec.clone(),
            reason,
        });
    }
    let colour = YuvToRgb::new(sps.matrix, sps.full_range);

    let config = DecoderConfig::new().flush_after_decode(Flush::NoFlush);
    let mut decoder = Decoder::with_api_config(OpenH264API::from_source(), config)
        .map_err(|e| corrupt(format!("the H.264 decoder did not start: {e}")))?;
    let mut stream = Vec::new();
    annex_b(
        avcc.sps.iter().chain(&avcc.pps).map(Vec::as_slice),
        &mut stream,
    );
    if !stream.is_empty() {
        decoder.decode(&stream).map_err(|e| Error::DecodeFailed {
            path: p(),
            sample: 0,
            reason: format!("parameter sets: {e}"),
        })?;
    }

    let mut produced = 0usize;
    let mut take = |yuv: &dyn YUVSource, produced: &mut usize| {
        let i = *produced;
        *produced += 1;
        if keep(i) {
            let (w, h) = yuv.dimensions();
            sink(
                i,
                colour.convert(yuv.y(), yuv.u(), yuv.v(), yuv.strides(), w, h),
            );
        }
    };
    let mut first = Some(first);
    for (k, s) in track.samples.iter().enumerate() {
        let data = match first.take() {
            Some(bytes) => bytes,
            None => file.read_sample(s)?,
        };
        let nals = split_nals(&data, avcc.length_size).map_err(|reason| Error::DecodeFailed {
            path: p(),
            sample: k,
            reason,
        })?;
        stream.clear();
        annex_b(nals, &mut stream);
        let out = decoder.decode(&stream).map_err(|e| Error::DecodeFailed {
            path: p(),
            sample: k,
            reason: e.to_string(),
        })?;
        if let Some(yuv) = out {
            take(&yuv, &mut produced);
        }
    }
    let rest = decoder.flush_remaining().map_err(|e| Error::DecodeFailed {
        path: p(),
        sample: track.samples.len(),
        reason: format!("flushing: {e}"),
    })?;
    for yuv in &rest {
        take(yuv, &mut produced);
    }
    if produced != track.samples.len() {
        return Err(corrupt(format!(
            "the H.264 decoder returned {produced} frames for the track's {} samples",
            track.samples.len()
        )));
    }
    Ok(info)
}

/// Image extensions a frame folder's files may have (case-insensitive).
const FRAME_EXTENSIONS: [&str; 5] = ["png", "jpg", "jpeg", "webp", "jpe"];

/// The image files of a frame folder, sorted by file name (byte order of the name, as
/// Python's `sorted(os.listdir(...))`): files with an image extension (PNG, JPEG, WebP);
/// other files and sub-folders are ignored. No image at all is an
/// [`Error::EmptyFrameFolder`].
pub fn frame_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::FolderUnreadable {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| Error::FolderUnreadable {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let is_image = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| FRAME_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        if is_image && path.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    if files.is_empty() {
        return Err(Error::EmptyFrameFolder {
            path: dir.to_path_buf(),
        });
    }
    Ok(files)
}
