//! The workspace's one seeded RNG family (data, model, world, training and evaluation all draw
//! from it).
//!
//! * [`Rng`]: a tiny seeded generator whose whole state is four `u64`s and serialises with
//!   serde, so a training run that saves it resumes the exact same stream.
//! * [`derive_seed`] / [`Rng::stream`]: independent streams of one seed.
//! * [`mix64`]: the stateless SplitMix64 mix, for values that must be a pure function of their
//!   inputs (dropout masks, hashes of names).
//!
//! xoshiro256** (Blackman & Vigna), seeded through SplitMix64 as its authors recommend. Not
//! cryptographic; identical on every platform (integer arithmetic, and `f64` built from the
//! top 53 bits).

use serde::{Deserialize, Serialize};

/// SplitMix64's increment (the golden-ratio gamma).
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// Stateless SplitMix64: the output of one SplitMix64 step from state `z` (adds the gamma,
/// then mixes), so `mix64(s) == splitmix64(&mut s)` with `s` advanced. A good 64-bit mix of
/// `z`, for values that must be a pure function of their inputs.
pub fn mix64(z: u64) -> u64 {
    let mut z = z.wrapping_add(GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One step of SplitMix64: advances `state` and returns the next output.
pub fn splitmix64(state: &mut u64) -> u64 {
    let out = mix64(*state);
    *state = state.wrapping_add(GAMMA);
    out
}

/// A seed for an independent stream `stream` of the generator seeded with `seed` (used to
/// give each task, epoch or base clip its own stream, so one does not shift another).
pub fn derive_seed(seed: u64, stream: u64) -> u64 {
    let mut s = seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
    splitmix64(&mut s);
    splitmix64(&mut s)
}

/// xoshiro256**. `Serialize`/`Deserialize` write and read its full state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator seeded from `seed` through SplitMix64 (never the all-zero state).
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let s = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        Self { s }
    }

    /// The generator for stream `stream` of `seed` (see [`derive_seed`]).
    pub fn stream(seed: u64, stream: u64) -> Self {
        Self::new(derive_seed(seed, stream))
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[lo, hi)` (`lo` when `hi <= lo`).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        if hi <= lo {
            return lo;
        }
        lo + (hi - lo) * self.next_f64()
    }

    /// Uniform integer in `[0, n)`, without modulo bias (Lemire's method). `n` must be > 0;
    /// returns 0 for `n == 0`.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = (self.next_u64() as u128) * (n as u128);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// Fisher–Yates shuffle in place.
    pub fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            xs.swap(i, j);
        }
    }

    /// An index drawn with probability proportional to `weights` (non-negative, finite, not
    /// all zero: callers validate). Returns the last positive index on rounding.
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.next_f64() * total;
        let mut last = 0;
        for (i, &w) in weights.iter().enumerate() {
            if w <= 0.0 {
                continue;
            }
            last = i;
            if x < w {
                return i;
            }
            x -= w;
        }
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_reference_values() {
        // SplitMix64 from seed 1234567 (Vigna's splitmix64.c).
        let mut s = 1234567u64;
        assert_eq!(splitmix64(&mut s), 6457827717110365317);
        assert_eq!(splitmix64(&mut s), 3203168211198807973);
        // xoshiro256** seeded from SplitMix64(42), from a straight Python transcription of
        // xoshiro256starstar.c.
        let mut r = Rng::new(42);
        assert_eq!(r.next_u64(), 1546998764402558742);
        assert_eq!(r.next_u64(), 6990951692964543102);
        assert_eq!(r.next_u64(), 12544586762248559009);
    }

    #[test]
    fn mix64_is_one_splitmix64_step_and_the_old_splitmix() {
        for z in [0u64, 1, 42, 1234567, u64::MAX, 0xcbf2_9ce4_8422_2325] {
            let mut s = z;
            assert_eq!(mix64(z), splitmix64(&mut s));
            assert_eq!(s, z.wrapping_add(0x9E37_79B9_7F4A_7C15));
        }
        // The values of `model::lora::splitmix`, which `mix64` replaced (dropout masks and
        // adapter hashes depend on them).
        assert_eq!(mix64(0), 16294208416658607535);
        assert_eq!(mix64(1), 10451216379200822465);
        assert_eq!(mix64(42), 13679457532755275413);
        assert_eq!(mix64(1234567), 6457827717110365317);
        assert_eq!(mix64(u64::MAX), 16490336266968443936);
        assert_eq!(mix64(0xcbf2_9ce4_8422_2325), 14087677454934409008);
    }

    #[test]
    fn same_seed_same_stream_and_state_roundtrip() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let saved = serde_json::to_string(&a).unwrap();
        let mut c: Rng = serde_json::from_str(&saved).unwrap();
        for _ in 0..100 {
            assert_eq!(a.next_u64(), c.next_u64());
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }

    #[test]
    fn below_and_shuffle_are_in_range_and_permutations() {
        let mut r = Rng::new(7);
        for n in [1u64, 2, 3, 10, 1000] {
            for _ in 0..200 {
                assert!(r.below(n) < n);
            }
        }
        let mut xs: Vec<usize> = (0..50).collect();
        r.shuffle(&mut xs);
        let mut sorted = xs.clone();
        sorted.sort();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(xs, sorted);
        for _ in 0..1000 {
            let f = r.next_f64();
            assert!((0.0..1.0).contains(&f));
        }
    }

    #[test]
    fn weighted_never_picks_zero_weight() {
        let mut r = Rng::new(3);
        for _ in 0..1000 {
            assert_ne!(r.weighted(&[1.0, 0.0, 2.0]), 1);
        }
    }
}
