//! A small MP4 (ISO base media file format, QuickTime MOV) demuxer: the first video track's
//! sample entry, codec configuration and sample table, and its samples' bytes.
//!
//! Only what decoding a video track needs is read: `moov/trak/mdia/{mdhd, hdlr}` and
//! `minf/stbl/{stsd, stts, ctts, stsc, stsz, stco, co64}`. The `mdat` payload is never held in
//! memory as a whole: samples are read one at a time at their offsets. Fragmented files
//! (`moof`) are refused with a typed error.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// One coded sample (an H.264 access unit) of the track, in decoding order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sample {
    /// Byte offset in the file.
    pub offset: u64,
    /// Byte length.
    pub size: u32,
    /// Decoding time, in track ticks.
    pub dts: u64,
    /// Composition (presentation) time, in track ticks: `dts + ctts offset`.
    pub cts: i64,
}

/// The first video track of a file.
#[derive(Clone, Debug)]
pub(crate) struct VideoTrack {
    /// The sample entry's four-character code (`avc1`, `avc3`, `hvc1`, `mp4v`, ...).
    pub codec: [u8; 4],
    /// Width and height stated by the sample entry (the decoder's cropped size is the truth).
    pub width: u16,
    pub height: u16,
    /// Ticks per second of the track's media timeline (`mdhd`).
    pub timescale: u32,
    /// The `avcC` payload (AVCDecoderConfigurationRecord), for `avc1` / `avc3`.
    pub avcc: Option<Vec<u8>>,
    /// The samples in decoding order.
    pub samples: Vec<Sample>,
    /// Sum of all sample durations (`stts`), in ticks.
    pub duration: u64,
}

impl VideoTrack {
    /// The average frame rate as FFmpeg's MP4 demuxer states it (`avg_frame_rate`): samples
    /// × timescale / the sum of the sample durations.
    pub fn avg_fps(&self) -> Option<f64> {
        (self.duration > 0 && !self.samples.is_empty() && self.timescale > 0)
            .then(|| self.samples.len() as f64 * f64::from(self.timescale) / self.duration as f64)
    }

    /// The codec's four characters, for messages.
    pub fn codec_name(&self) -> String {
        fourcc(self.codec)
    }
}

fn fourcc(c: [u8; 4]) -> String {
    c.iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '?'
            }
        })
        .collect()
}

/// An open MP4 file: its path (for messages), length and handle.
pub(crate) struct Mp4File {
    path: PathBuf,
    file: File,
    len: u64,
}

/// What is wrong with a box, before the file is known (turned into an [`Error`] by the caller).
enum Bad {
    /// The data ends before the box (or the file) says it does.
    Short(String),
    /// A field holds an impossible value.
    Corrupt(String),
    /// The movie has no video track.
    NoVideo,
}

type Parse<T> = std::result::Result<T, Bad>;

/// A reader over a box's payload.
struct Cur<'a> {
    data: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Cur<'a> {
    fn new(data: &'a [u8], what: &'static str) -> Self {
        Cur { data, pos: 0, what }
    }

    fn bytes(&mut self, n: usize) -> Parse<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        match end {
            Some(end) => {
                let s = &self.data[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(Bad::Short(format!(
                "the '{}' box ends early ({} bytes, {} more needed at {})",
                self.what,
                self.data.len(),
                n,
                self.pos
            ))),
        }
    }

    fn u8(&mut self) -> Parse<u8> {
        Ok(self.bytes(1)?[0])
    }

    fn u16(&mut self) -> Parse<u16> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Parse<u32> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Parse<u64> {
        let b = self.bytes(8)?;
        Ok(u64::from_be_bytes(b.try_into().expect("8 bytes")))
    }

    fn skip(&mut self, n: usize) -> Parse<()> {
        self.bytes(n).map(|_| ())
    }

    fn rest(&mut self) -> &'a [u8] {
        let s = &self.data[self.pos..];
        self.pos = self.data.len();
        s
    }

    /// A table of `count` entries of `entry` bytes must fit in what is left.
    fn table(&self, count: u32, entry: usize) -> Parse<usize> {
        let count = count as usize;
        let need = count.checked_mul(entry);
        if need.is_none_or(|n| n > self.data.len() - self.pos) {
            return Err(Bad::Short(format!(
                "the '{}' box states {count} entries, more than its {} bytes hold",
                self.what,
                self.data.len()
            )));
        }
        Ok(count)
    }
}

/// The child boxes of a payload: `(type, payload)`.
fn children<'a>(data: &'a [u8], parent: &'static str) -> Parse<Vec<([u8; 4], &'a [u8])>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < data.len() {
        let rest = &data[pos..];
        if rest.len() < 8 {
            // QuickTime allows a 4-byte zero terminator at the end of some containers.
            if rest.iter().all(|&b| b == 0) {
                break;
            }
            return Err(Bad::Short(format!(
                "a box header inside '{parent}' is cut off"
            )));
        }
        let size32 = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as u64;
        let kind: [u8; 4] = rest[4..8].try_into().expect("4 bytes");
        let (header, size) = match size32 {
            0 => (8u64, rest.len() as u64),
            1 => {
                if rest.len() < 16 {
                    return Err(Bad::Short(format!(
                        "a 64-bit box header inside '{parent}' is cut off"
                    )));
                }
                (16, u64::from_be_bytes(rest[8..16].try_into().expect("8")))
            }
            s => (8, s),
        };
        if size < header {
            return Err(Bad::Corrupt(format!(
                "box '{}' inside '{parent}' states a size of {size} bytes",
                fourcc(kind)
            )));
        }
        if size > rest.len() as u64 {
            return Err(Bad::Short(format!(
                "box '{}' inside '{parent}' states {size} bytes, only {} remain",
                fourcc(kind),
                rest.len()
            )));
        }
        out.push((kind, &rest[header as usize..size as usize]));
        pos += size as usize;
    }
    Ok(out)
}

fn child<'a>(boxes: &[([u8; 4], &'a [u8])], kind: &[u8; 4]) -> Option<&'a [u8]> {
    boxes.iter().find(|(k, _)| k == kind).map(|(_, d)| *d)
}

fn need<'a>(boxes: &[([u8; 4], &'a [u8])], kind: &[u8; 4], parent: &str) -> Parse<&'a [u8]> {
    child(boxes, kind)
        .ok_or_else(|| Bad::Corrupt(format!("the '{parent}' box has no '{}' box", fourcc(*kind))))
}

impl Mp4File {
    /// Opens `path` and reads its first video track's description and sample table.
    pub fn open(path: &Path) -> Result<(Self, VideoTrack)> {
        let p = || path.to_path_buf();
        let file =
            File::open(path).map_err(|source| Error::VideoUnreadable { path: p(), source })?;
        let meta = file
            .metadata()
            .map_err(|source| Error::VideoUnreadable { path: p(), source })?;
        if meta.is_dir() {
            return Err(Error::VideoUnreadable {
                path: p(),
                source: std::io::Error::other("is a directory"),
            });
        }
        let len = meta.len();
        if len == 0 {
            return Err(Error::VideoEmpty { path: p() });
        }
        let mut me = Mp4File {
            path: p(),
            file,
            len,
        };
        let moov = me.find_moov()?;
        let track = parse_moov(&moov).map_err(|b| me.bad(b))?;
        if track.samples.is_empty() {
            return Err(Error::NoFrames { path: p() });
        }
        if let Some(s) = track
            .samples
            .iter()
            .find(|s| s.offset.saturating_add(u64::from(s.size)) > len)
        {
            return Err(Error::VideoTruncated {
                path: p(),
                reason: format!(
                    "sample data at bytes {}..{} lies past the end of the {len}-byte file",
                    s.offset,
                    s.offset + u64::from(s.size)
                ),
            });
        }
        Ok((me, track))
    }

    fn bad(&self, b: Bad) -> Error {
        match b {
            Bad::Short(reason) => Error::VideoTruncated {
                path: self.path.clone(),
                reason,
            },
            Bad::Corrupt(reason) => Error::VideoCorrupt {
                path: self.path.clone(),
                reason,
            },
            Bad::NoVideo => Error::NoVideoTrack {
                path: self.path.clone(),
            },
        }
    }

    fn io(&self, source: std::io::Error) -> Error {
        Error::VideoUnreadable {
            path: self.path.clone(),
            source,
        }
    }

    /// Walks the top-level boxes and returns the `moov` payload. A file whose first box is not
    /// a known top-level box is not an MP4 file.
    fn find_moov(&mut self) -> Result<Vec<u8>> {
        let mut pos = 0u64;
        let mut first = true;
        let mut seen_moof = false;
        loop {
            if pos >= self.len {
                let reason = if seen_moof {
                    "fragmented MP4 (moof) without a 'moov' box".to_string()
                } else {
                    format!(
                        "no 'moov' box in {} bytes (cut off before the movie header?)",
                        self.len
                    )
                };
                return Err(Error::VideoTruncated {
                    path: self.path.clone(),
                    reason,
                });
            }
            let mut head = [0u8; 16];
            let avail = (self.len - pos).min(16) as usize;
            if avail < 8 {
                return Err(Error::VideoTruncated {
                    path: self.path.clone(),
                    reason: format!("a box header at byte {pos} is cut off"),
                });
            }
            self.file
                .seek(SeekFrom::Start(pos))
                .and_then(|_| self.file.read_exact(&mut head[..avail]))
                .map_err(|e| self.io(e))?;
            let size32 = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as u64;
            let kind: [u8; 4] = head[4..8].try_into().expect("4 bytes");
            if first {
                const TOP: [&[u8; 4]; 11] = [
                    b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid",
                    b"styp", b"sidx", b"moof",
                ];
                if !TOP.contains(&&kind) {
                    let shown: Vec<String> = head[..avail.min(8)]
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect();
                    return Err(Error::NotMp4 {
                        path: self.path.clone(),
                        reason: format!(
                            "no MP4/QuickTime box at the start (first bytes: {})",
                            shown.join(" ")
                        ),
                    });
                }
                first = false;
            }
            let (header, size) = match size32 {
                0 => (8, self.len - pos),
                1 => {
                    if avail < 16 {
                        return Err(Error::VideoTruncated {
                            path: self.path.clone(),
                            reason: format!("a box header at byte {pos} is cut off"),
                        });
                    }
                    (16, u64::from_be_bytes(head[8..16].try_into().expect("8")))
                }
                s => (8, s),
            };
            if size < header {
                return Err(Error::VideoCorrupt {
                    path: self.path.clone(),
                    reason: format!(
                        "box '{}' at byte {pos} states a size of {size} bytes",
                        fourcc(kind)
                    ),
                });
            }
            if &kind == b"moof" {
                seen_moof = true;
            }
            if &kind == b"moov" {
                if pos + size > self.len {
                    return Err(Error::VideoTruncated {
                        path: self.path.clone(),
                        reason: format!(
                            "the 'moov' box states {size} bytes, the file ends after {}",
                            self.len - pos
                        ),
                    });
                }
                let body = (size - header) as usize;
                let mut buf = vec![0u8; body];
                self.file
                    .seek(SeekFrom::Start(pos + header))
                    .and_then(|_| self.file.read_exact(&mut buf))
                    .map_err(|e| self.io(e))?;
                return Ok(buf);
            }
            pos = pos.saturating_add(size);
        }
    }

    /// The bytes of one sample.
    pub fn read_sample(&mut self, s: &Sample) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; s.size as usize];
        self.file
            .seek(SeekFrom::Start(s.offset))
            .and_then(|_| self.file.read_exact(&mut buf))
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    Error::VideoTruncated {
                        path: self.path.clone(),
                        reason: format!("sample data at byte {} is cut off", s.offset),
                    }
                } else {
                    self.io(e)
                }
            })?;
        Ok(buf)
    }
}

/// The first track whose handler is `vide`, with its sample table.
fn parse_moov(moov: &[u8]) -> Parse<VideoTrack> {
    let boxes = children(moov, "moov")?;
    let fragmented = child(&boxes, b"mvex").is_some();
    for (kind, trak) in &boxes {
        if kind != b"trak" {
            continue;
        }
        let trak_boxes = children(trak, "trak")?;
        let mdia = need(&trak_boxes, b"mdia", "trak")?;
        let mdia_boxes = children(mdia, "mdia")?;
        let hdlr = need(&mdia_boxes, b"hdlr", "mdia")?;
        let mut c = Cur::new(hdlr, "hdlr");
        c.skip(8)?; // version/flags, pre_defined
        if c.bytes(4)? != b"vide" {
            continue;
        }
        let track = parse_video_mdia(&mdia_boxes)?;
        if fragmented && track.samples.is_empty() {
            return Err(Bad::Corrupt(
                "fragmented MP4 (samples in 'moof' fragments) is not supported".into(),
            ));
        }
        return Ok(track);
    }
    Err(Bad::NoVideo)
}

fn parse_video_mdia(mdia: &[([u8; 4], &[u8])]) -> Parse<VideoTrack> {
    let mdhd = need(mdia, b"mdhd", "mdia")?;
    let mut c = Cur::new(mdhd, "mdhd");
    let version = c.u8()?;
    c.skip(3)?;
    let timescale = if version == 1 {
        c.skip(16)?;
        c.u32()?
    } else {
        c.skip(8)?;
        c.u32()?
    };
    if timescale == 0 {
        return Err(Bad::Corrupt("the track's timescale is 0".into()));
    }
    let minf = children(need(mdia, b"minf", "mdia")?, "minf")?;
    let stbl = children(need(&minf, b"stbl", "minf")?, "stbl")?;

    // stsd: the first sample entry.
    let mut c = Cur::new(need(&stbl, b"stsd", "stbl")?, "stsd");
    c.skip(4)?;
    let entries = c.u32()?;
    if entries == 0 {
        return Err(Bad::Corrupt("the 'stsd' box has no sample entry".into()));
    }
    let entry = children(c.rest(), "stsd")?;
    let (codec, body) = *entry
        .first()
        .ok_or_else(|| Bad::Short("the 'stsd' box's sample entry is cut off".into()))?;
    let mut e = Cur::new(body, "visual sample entry");
    e.skip(6 + 2 + 16)?; // reserved, data_reference_index, pre_defined/reserved
    let width = e.u16()?;
    let height = e.u16()?;
    e.skip(4 + 4 + 4 + 2 + 32 + 2 + 2)?; // resolutions, reserved, frame_count, name, depth, -1
    let avcc = if &codec == b"avc1" || &codec == b"avc3" {
        let ext = children(e.rest(), "avc1")?;
        child(&ext, b"avcC").map(<[u8]>::to_vec)
    } else {
        None
    };

    // stsz: sizes.
    let mut c = Cur::new(need(&stbl, b"stsz", "stbl")?, "stsz");
    c.skip(4)?;
    let fixed = c.u32()?;
    let count = c.u32()?;
    if count > 1 << 27 {
        return Err(Bad::Corrupt(format!(
            "the 'stsz' box states {count} samples"
        )));
    }
    let sizes: Vec<u32> = if fixed != 0 {
        vec![fixed; count as usize]
    } else {
        let n = c.table(count, 4)?;
        (0..n).map(|_| c.u32()).collect::<Parse<_>>()?
    };
    let total = sizes.len();

    // stts: durations.
    let mut c = Cur::new(need(&stbl, b"stts", "stbl")?, "stts");
    c.skip(4)?;
    let n = c.u32()?;
    let n = c.table(n, 8)?;
    let mut deltas: Vec<u32> = Vec::new();
    for _ in 0..n {
        let count = c.u32()?;
        let delta = c.u32()?;
        let room = total.saturating_sub(deltas.len());
        deltas.extend(std::iter::repeat_n(delta, (count as usize).min(room)));
    }

    // ctts: composition offsets (optional).
    let mut cts_off: Vec<i64> = Vec::new();
    if let Some(ctts) = child(&stbl, b"ctts") {
        let mut c = Cur::new(ctts, "ctts");
        let version = c.u8()?;
        c.skip(3)?;
        let n = c.u32()?;
        let n = c.table(n, 8)?;
        for _ in 0..n {
            let count = c.u32()? as usize;
            let raw = c.u32()?;
            // Version 0 is unsigned in the standard, but writers put signed values there too.
            let off = if version == 0 && raw <= i32::MAX as u32 {
                i64::from(raw)
            } else {
                i64::from(raw as i32)
            };
            let room = total.saturating_sub(cts_off.len());
            cts_off.extend(std::iter::repeat_n(off, count.min(room)));
        }
    }

    // Chunk offsets.
    let offsets: Vec<u64> = if let Some(stco) = child(&stbl, b"stco") {
        let mut c = Cur::new(stco, "stco");
        c.skip(4)?;
        let n = c.u32()?;
        let n = c.table(n, 4)?;
        (0..n)
            .map(|_| c.u32().map(u64::from))
            .collect::<Parse<_>>()?
    } else if let Some(co64) = child(&stbl, b"co64") {
        let mut c = Cur::new(co64, "co64");
        c.skip(4)?;
        let n = c.u32()?;
        let n = c.table(n, 8)?;
        (0..n).map(|_| c.u64()).collect::<Parse<_>>()?
    } else {
        return Err(Bad::Corrupt(
            "the 'stbl' box has no 'stco' or 'co64' box".into(),
        ));
    };

    // stsc: samples per chunk, as runs starting at a chunk (1-based).
    let mut c = Cur::new(need(&stbl, b"stsc", "stbl")?, "stsc");
    c.skip(4)?;
    let n = c.u32()?;
    let n = c.table(n, 12)?;
    let mut runs: Vec<(u32, u32)> = Vec::with_capacity(n);
    for _ in 0..n {
        let first = c.u32()?;
        let per = c.u32()?;
        c.skip(4)?;
        if first == 0 || runs.last().is_some_and(|&(f, _)| first <= f) {
            return Err(Bad::Corrupt(format!(
                "the 'stsc' box's chunk runs are out of order (first chunk {first})"
            )));
        }
        runs.push((first, per));
    }

    // The samples, chunk by chunk.
    let mut samples = Vec::with_capacity(total);
    'chunks: for (i, &chunk_offset) in offsets.iter().enumerate() {
        let chunk = i as u32 + 1;
        let per = runs
            .iter()
            .rev()
            .find(|&&(first, _)| first <= chunk)
            .map_or(0, |&(_, per)| per);
        let mut at = chunk_offset;
        for _ in 0..per {
            let k = samples.len();
            if k == total {
                break 'chunks;
            }
            samples.push(Sample {
                offset: at,
                size: sizes[k],
                dts: 0,
                cts: 0,
            });
            at = at.saturating_add(u64::from(sizes[k]));
        }
    }
    if samples.len() < total {
        return Err(Bad::Corrupt(format!(
            "the chunk tables place {} of the {total} samples",
            samples.len()
        )));
    }
    if deltas.len() < total {
        return Err(Bad::Corrupt(format!(
            "the 'stts' box times {} of the {total} samples",
            deltas.len()
        )));
    }
    let mut dts = 0u64;
    let mut duration = 0u64;
    for (k, s) in samples.iter_mut().enumerate() {
        s.dts = dts;
        s.cts = dts as i64 + cts_off.get(k).copied().unwrap_or(0);
        dts = dts.saturating_add(u64::from(deltas[k]));
        duration = dts;
    }
    Ok(VideoTrack {
        codec,
        width,
        height,
        timescale,
        avcc,
        samples,
        duration,
    })
}
