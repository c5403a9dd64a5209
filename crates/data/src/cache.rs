//! An on-disk cache of the encoder's mel features, one file per (audio file, n_mels,
//! long-audio policy).
//!
//! Key: the audio file's canonical absolute path, its size and modification time, `n_mels`,
//! the long-audio policy and [`CACHE_VERSION`] — a changed file gets a new entry (old
//! entries are left behind; delete the cache directory to reclaim them). **Bump
//! `CACHE_VERSION` whenever the `audio` crate's features change**, since entries cannot tell.
//!
//! Entry file `<dir>/<h[0..2]>/<h>.mel` (`h` = FNV-1a 64 of the key, hex), little-endian:
//! `b"MELCACHE"`, version u32, key length u32, key bytes, n_mels u32, n_frames u32,
//! valid_frames u64, truncated_from u64 (`u64::MAX` = none), `n_mels * n_frames` f32, then an
//! FNV-1a 64 checksum of everything before it. The full key is stored and compared, so a hash
//! collision is a miss, not a wrong answer. Entries are written atomically (temporary file,
//! then rename); an entry that fails any check (truncated, bit-flipped, other key) is
//! recomputed and overwritten, never trusted. A failure to write an entry is an error.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;

use audio::{LongAudio, Mel, ModelFeatures};

use crate::error::{Error, Result};
use crate::fsutil::write_atomic;

/// Version of the entry format and of the features it holds (see the module docs).
pub const CACHE_VERSION: u32 = 1;
const MAGIC: &[u8; 8] = b"MELCACHE";

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Counters of what the cache did (since it was created).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Served from a valid entry.
    pub hits: u64,
    /// No entry: computed and stored.
    pub misses: u64,
    /// An entry failed its checks: recomputed and overwritten.
    pub corrupt: u64,
    /// The file's modification time is unavailable, or it changed while being computed:
    /// computed, not stored.
    pub uncached: u64,
}

/// The cache; safe to share between loader threads (`&self` methods).
#[derive(Debug)]
pub struct FeatureCache {
    dir: PathBuf,
    hits: AtomicU64,
    misses: AtomicU64,
    corrupt: AtomicU64,
    uncached: AtomicU64,
}

/// Identity of a file's contents as far as the cache can tell without reading it.
#[derive(PartialEq, Eq)]
struct FileId {
    size: u64,
    mtime_ns: u128,
}

fn file_id(path: &Path) -> Result<Option<FileId>> {
    let meta = fs::metadata(path).map_err(|e| Error::io(path, "cannot stat audio file", e))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok());
    Ok(mtime.map(|d| FileId {
        size: meta.len(),
        mtime_ns: d.as_nanos(),
    }))
}

fn policy_name(p: LongAudio) -> &'static str {
    match p {
        LongAudio::Error => "error",
        LongAudio::Truncate => "truncate",
    }
}

fn encode(key: &[u8], f: &ModelFeatures) -> Vec<u8> {
    let mut b = Vec::with_capacity(40 + key.len() + 4 * f.mel.data.len());
    b.extend_from_slice(MAGIC);
    b.extend_from_slice(&CACHE_VERSION.to_le_bytes());
    b.extend_from_slice(&(key.len() as u32).to_le_bytes());
    b.extend_from_slice(key);
    b.extend_from_slice(&(f.mel.n_mels as u32).to_le_bytes());
    b.extend_from_slice(&(f.mel.n_frames as u32).to_le_bytes());
    b.extend_from_slice(&(f.valid_frames as u64).to_le_bytes());
    b.extend_from_slice(
        &f.truncated_from
            .map_or(u64::MAX, |n| n as u64)
            .to_le_bytes(),
    );
    for x in &f.mel.data {
        b.extend_from_slice(&x.to_le_bytes());
    }
    let sum = fnv1a64(&b);
    b.extend_from_slice(&sum.to_le_bytes());
    b
}

/// A little-endian reader over a byte slice; `None` past the end.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

/// The features an entry holds if it passes every check for `key` and `n_mels`.
fn decode(bytes: &[u8], key: &[u8], n_mels: usize) -> Option<ModelFeatures> {
    let body_len = bytes.len().checked_sub(8)?;
    let (body, sum) = bytes.split_at(body_len);
    if fnv1a64(body) != u64::from_le_bytes(sum.try_into().ok()?) {
        return None;
    }
    let mut r = Bytes(body);
    if r.take(8)? != MAGIC || r.u32()? != CACHE_VERSION {
        return None;
    }
    let key_len = r.u32()? as usize;
    if r.take(key_len)? != key {
        return None;
    }
    let (m, n_frames) = (r.u32()? as usize, r.u32()? as usize);
    let valid_frames = usize::try_from(r.u64()?).ok()?;
    let truncated = r.u64()?;
    let n = m.checked_mul(n_frames)?;
    if m != n_mels || r.0.len() != n.checked_mul(4)? {
        return None;
    }
    let data: Vec<f32> =
        r.0.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
    Some(ModelFeatures {
        mel: Mel {
            n_mels: m,
            n_frames,
            data,
        },
        valid_frames,
        truncated_from: (truncated != u64::MAX).then_some(truncated as usize),
    })
}

impl FeatureCache {
    /// A cache in `dir` (created if missing).
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)
            .map_err(|e| Error::io(&dir, "cannot create cache directory", e))?;
        Ok(Self {
            dir,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            corrupt: AtomicU64::new(0),
            uncached: AtomicU64::new(0),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            corrupt: self.corrupt.load(Ordering::Relaxed),
            uncached: self.uncached.load(Ordering::Relaxed),
        }
    }

    fn key(path: &Path, id: &FileId, n_mels: usize, policy: LongAudio) -> Vec<u8> {
        let mut k = format!("v{CACHE_VERSION}\0").into_bytes();
        k.extend_from_slice(path.as_os_str().as_encoded_bytes());
        let rest = format!(
            "\0{}\0{}\0{n_mels}\0{}",
            id.size,
            id.mtime_ns,
            policy_name(policy)
        );
        k.extend_from_slice(rest.as_bytes());
        k
    }

    /// Where the entry for `key` lives.
    fn entry_path(&self, key: &[u8]) -> PathBuf {
        let h = format!("{:016x}", fnv1a64(key));
        self.dir.join(&h[..2]).join(format!("{h}.mel"))
    }

    /// The entry file `get_or_compute` uses for these arguments (`None` when the file has no
    /// modification time). For tools and tests.
    pub fn entry_for(
        &self,
        path: &Path,
        n_mels: usize,
        policy: LongAudio,
    ) -> Result<Option<PathBuf>> {
        let abs =
            fs::canonicalize(path).map_err(|e| Error::io(path, "cannot resolve audio path", e))?;
        Ok(file_id(&abs)?.map(|id| self.entry_path(&Self::key(&abs, &id, n_mels, policy))))
    }

    /// The features of `path` (`audio::load_mono_16k` then `audio::model_features`), from the
    /// cache when a valid entry exists, else computed and stored.
    pub fn get_or_compute(
        &self,
        path: &Path,
        n_mels: usize,
        policy: LongAudio,
    ) -> Result<ModelFeatures> {
        let abs =
            fs::canonicalize(path).map_err(|e| Error::io(path, "cannot resolve audio path", e))?;
        let compute = || -> Result<ModelFeatures> {
            let samples = audio::load_mono_16k(&abs)?;
            Ok(audio::model_features(&samples, n_mels, policy)?)
        };
        let Some(id) = file_id(&abs)? else {
            self.uncached.fetch_add(1, Ordering::Relaxed);
            return compute();
        };
        let key = Self::key(&abs, &id, n_mels, policy);
        let entry = self.entry_path(&key);
        let counter = match fs::read(&entry) {
            Ok(bytes) => match decode(&bytes, &key, n_mels) {
                Some(f) => {
                    self.hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(f);
                }
                None => &self.corrupt,
            },
            Err(e) if e.kind() == ErrorKind::NotFound => &self.misses,
            // Unreadable entry (permissions, a directory, ...): recompute and replace it.
            Err(_) => &self.corrupt,
        };
        let features = compute()?;
        if file_id(&abs)?.as_ref() != Some(&id) {
            // The file changed while it was being read: the features may not match the key.
            self.uncached.fetch_add(1, Ordering::Relaxed);
            return Ok(features);
        }
        write_atomic(&entry, &encode(&key, &features))?;
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(features)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_roundtrip_and_checks() {
        let f = ModelFeatures {
            mel: Mel {
                n_mels: 2,
                n_frames: 3,
                data: vec![0.0, 1.0, -2.5, 3.0, 4.0, 5.0],
            },
            valid_frames: 1,
            truncated_from: Some(500_000),
        };
        let b = encode(b"key", &f);
        assert_eq!(decode(&b, b"key", 2), Some(f.clone()));
        assert_eq!(decode(&b, b"kez", 2), None);
        assert_eq!(decode(&b, b"key", 3), None);
        assert_eq!(decode(&b[..b.len() - 1], b"key", 2), None);
        let mut flipped = b.clone();
        flipped[50] ^= 1;
        assert_eq!(decode(&flipped, b"key", 2), None);
        assert_eq!(decode(&[], b"key", 2), None);
    }
}
