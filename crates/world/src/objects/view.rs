//! The view of a sound-object clip: a few RGB frames of the object over a plain background,
//! moving with the sound's rhythm.
//!
//! Frame `k` of `F` shows the time `(k + 0.5) · seconds / F` (so 4 frames of a 2 s clip are
//! the 2 frames per second a frame folder is read at). Each frame is exposed for
//! [`SHUTTER`] s: the object's pose is sampled [`SUBFRAMES`] times over the exposure and
//! each pixel [`SUPERSAMPLE`]² times, so fast motion blurs as a camera's would and edges are
//! antialiased. The object's colour (times the pose's brightness) is laid over a grey
//! background with a vertical lighting gradient; then the exposure gain and pixel noise
//! (uniform, ± `grain` levels) are applied and the result rounded to 8 bits.
//!
//! Motions, in units of the shape's radius `s` and the clip's motion amplitude `A`
//! (`τ`: time since the last onset):
//!
//! | motion | pose |
//! |---|---|
//! | vibrate | sideways `0.3 A s · e^(−τ/hit) · sin(2π · 45 t)` |
//! | hop | up `A s · sin(π τ / 0.3)` for `τ < 0.3` |
//! | swing | turns `0.7 A · cos(2π rate (t − t₀))` rad and drops `0.3 A s` by the same cosine |
//! | peck | sideways `0.6 A s · e^(−τ/0.06)` |
//! | fall | drops move down `A (0.8 + rate/20)` frame heights per second, wrapping |
//! | flicker | brightness `1 ± 0.25 A` and position `± 0.1 s`, new values `rate` times a second |
//! | bounce | up `0.9 A s · |sin(π rate (t − t₀))|` |
//! | sway | sideways `0.8 A s · cos(π rate (t − t₀))` |
//! | pulse | scale `1 + 0.4 A · e^(−τ/0.08)` |
//! | shake | `(0.25, 0.2) A s` trembling at 8 and 11 Hz while an occurrence lasts |

use std::f32::consts::{PI, TAU};

use rng::{mix64, Rng};

use super::{Motion, Shape, VisualFacts};
use crate::dsp;

/// Exposure of one frame (s).
pub const SHUTTER: f32 = 1.0 / 25.0;
/// Poses sampled over an exposure.
pub const SUBFRAMES: usize = 5;
/// Samples per pixel side.
pub const SUPERSAMPLE: usize = 3;
/// Every shape lies within this many radii of its centre.
pub const REACH: f32 = 1.35;
/// Drops in a [`Shape::Drops`] view.
pub const DROPS: usize = 7;

/// How far (in radii, sideways and up/down) a motion moves the shape beyond [`REACH`].
pub fn extent(motion: Motion) -> (f32, f32) {
    match motion {
        Motion::Vibrate => (0.3, 0.0),
        Motion::Hop => (0.0, 1.0),
        Motion::Swing => (0.0, 0.3),
        Motion::Peck => (0.6, 0.0),
        Motion::Fall => (0.0, 0.0),
        Motion::Flicker => (0.1, 0.1),
        Motion::Bounce => (0.0, 0.9),
        Motion::Sway => (0.8, 0.0),
        Motion::Pulse => (0.55, 0.55),
        Motion::Shake => (0.25, 0.2),
    }
}

/// The rhythm a view moves with: the clip's length (s), occurrences per second, the length
/// of one (s) and the onsets (s). A sound object's view shares it with its sound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Beat<'a> {
    pub seconds: f32,
    pub rate: f32,
    pub hit: f32,
    pub onsets: &'a [f32],
}

impl Beat<'_> {
    /// The time (s) frame `k` of `frames` shows: the middle of its share of the clip.
    pub fn frame_time(&self, k: usize, frames: usize) -> f32 {
        (k as f32 + 0.5) * self.seconds / frames.max(1) as f32
    }
}

/// Where the object is at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    /// Offset of the centre (pixels; y down).
    pub dx: f32,
    pub dy: f32,
    pub scale: f32,
    /// Extra rotation (radians).
    pub turn: f32,
    pub bright: f32,
}

/// A value in [-1, 1) from a key (flicker).
fn hashed(key: u64) -> f32 {
    (mix64(key) >> 40) as f32 / (1u64 << 23) as f32 - 1.0
}

/// The pose at time `t` (s).
pub fn pose(v: &VisualFacts, beat: &Beat, t: f32) -> Pose {
    let (s, a) = (v.size, v.amplitude);
    let last = beat.onsets.iter().rev().find(|&&o| o <= t);
    let tau = last.map_or(f32::INFINITY, |&o| t - o);
    let t0 = beat.onsets.first().copied().unwrap_or(0.0);
    let mut p = Pose {
        dx: 0.0,
        dy: 0.0,
        scale: 1.0,
        turn: 0.0,
        bright: 1.0,
    };
    match v.motion {
        Motion::Vibrate => {
            p.dx = 0.3 * a * s * (-tau / beat.hit.max(1e-3)).exp() * (TAU * 45.0 * t).sin()
        }
        Motion::Hop => {
            if tau < 0.3 {
                p.dy = -a * s * (PI * tau / 0.3).sin();
            }
        }
        Motion::Swing => {
            let c = (TAU * beat.rate * (t - t0)).cos();
            p.turn = 0.7 * a * c;
            p.dy = 0.3 * a * s * c;
        }
        Motion::Peck => p.dx = 0.6 * a * s * (-tau / 0.06).exp(),
        Motion::Fall => p.dy = a * (0.8 + beat.rate / 20.0) * v.height as f32 * t,
        Motion::Flicker => {
            let k = (t * beat.rate).floor() as i64 as u64;
            let key = v.seed ^ k.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            p.bright = 1.0 + 0.25 * a * hashed(key);
            p.dx = 0.1 * s * hashed(key ^ 1);
            p.dy = 0.1 * s * hashed(key ^ 2);
        }
        Motion::Bounce => p.dy = -0.9 * a * s * (PI * beat.rate * (t - t0)).sin().abs(),
        Motion::Sway => p.dx = 0.8 * a * s * (PI * beat.rate * (t - t0)).cos(),
        Motion::Pulse => p.scale = 1.0 + 0.4 * a * (-tau / 0.08).exp(),
        Motion::Shake => {
            if tau < beat.hit {
                let ph = (v.seed % 1000) as f32 / 1000.0 * TAU;
                p.dx = 0.25 * a * s * (TAU * 8.0 * t + ph).sin();
                p.dy = 0.2 * a * s * (TAU * 11.0 * t + 2.0 * ph).sin();
            }
        }
    }
    p
}

/// Whether the point `(u, v)` (in radii from the centre, `v` up) is inside `shape`.
pub fn inside(shape: Shape, u: f32, v: f32) -> bool {
    let (au, av) = (u.abs(), v.abs());
    match shape {
        Shape::Circle => u * u + v * v <= 1.0,
        Shape::Ring => (0.3..=1.0).contains(&(u * u + v * v)),
        Shape::Square => au <= 0.8 && av <= 0.8,
        Shape::Diamond => au + av <= 1.05,
        Shape::Triangle => v >= -0.55 && v <= 1.1 - 1.9 * au,
        Shape::Hexagon => av <= 0.87 && 0.87 * au + 0.5 * av <= 0.87,
        Shape::Star => {
            let r = (u * u + v * v).sqrt();
            if r > 1.0 {
                return false;
            }
            // Five points, one straight up; the radius falls linearly to 0.42 between them.
            let turns = u.atan2(v) / TAU * 5.0;
            let f = turns - turns.floor();
            r <= 0.42 + 0.58 * (1.0 - 2.0 * f).abs()
        }
        Shape::Bar => au <= 1.3 && av <= 0.35,
        Shape::Cross => (au <= 0.25 && av <= 1.0) || (au <= 0.75 && (v - 0.3).abs() <= 0.25),
        // One drop (the view places several).
        Shape::Drops => u * u / 0.09 + v * v / 0.3 <= 1.0,
    }
}

/// Drop positions (pixels) of a [`Shape::Drops`] view, at rest.
fn drops(v: &VisualFacts) -> Vec<[f32; 2]> {
    let mut rng = Rng::stream(v.seed, 1);
    (0..DROPS)
        .map(|_| {
            [
                dsp::uni(&mut rng, 0.0, v.width as f32),
                dsp::uni(&mut rng, 0.0, v.height as f32),
            ]
        })
        .collect()
}

/// One shape where a pose puts it: centre (pixels), tilt as (sin, cos), radius (pixels).
struct Placed {
    shape: Shape,
    x: f32,
    y: f32,
    sin: f32,
    cos: f32,
    r: f32,
}

impl Placed {
    /// Whether pixel-space point `(x, y)` is covered.
    fn covers(&self, x: f32, y: f32) -> bool {
        let (dx, dy) = (x - self.x, y - self.y);
        let reach = REACH * self.r;
        if dx.abs() > reach || dy.abs() > reach {
            return false;
        }
        let u = (dx * self.cos + dy * self.sin) / self.r;
        let w = (dx * self.sin - dy * self.cos) / self.r;
        inside(self.shape, u, w)
    }
}

/// The shapes of the view `v` in pose `p`: the object, or each drop (moved down by the pose,
/// wrapping round the frame's height).
fn placed(v: &VisualFacts, p: &Pose, drops: &[[f32; 2]]) -> Vec<Placed> {
    let r = v.size * p.scale;
    if v.shape == Shape::Drops {
        let span = v.height as f32 + 2.0 * r;
        return drops
            .iter()
            .map(|d| Placed {
                shape: Shape::Drops,
                x: d[0] + p.dx,
                y: (d[1] + p.dy + r).rem_euclid(span) - r,
                sin: 0.0,
                cos: 1.0,
                r,
            })
            .collect();
    }
    let (sin, cos) = (v.angle + p.turn).sin_cos();
    vec![Placed {
        shape: v.shape,
        x: v.centre[0] + p.dx,
        y: v.centre[1] + p.dy,
        sin,
        cos,
        r,
    }]
}

/// The frames (RGB bytes, row-major) of the view `v` moving with `beat`.
pub fn render(v: &VisualFacts, beat: &Beat) -> Vec<Vec<u8>> {
    let (w, h) = (v.width as usize, v.height as usize);
    let drops = drops(v);
    let n_sub = (SUPERSAMPLE * SUPERSAMPLE * SUBFRAMES) as f32;
    (0..v.frames)
        .map(|k| {
            let t = beat.frame_time(k, v.frames);
            let poses: Vec<(f32, Vec<Placed>)> = (0..SUBFRAMES)
                .map(|j| {
                    let dt = (j as f32 + 0.5) / SUBFRAMES as f32 - 0.5;
                    let p = pose(v, beat, t + dt * SHUTTER);
                    (p.bright, placed(v, &p, &drops))
                })
                .collect();
            let mut rng = Rng::stream(v.seed, 2 + k as u64);
            let mut out = Vec::with_capacity(w * h * 3);
            for py in 0..h {
                let shade = v.gradient * ((py as f32 + 0.5) / h as f32 - 0.5);
                for px in 0..w {
                    let (mut cover, mut bright) = (0.0f32, 0.0f32);
                    for (lit, shapes) in &poses {
                        for sy in 0..SUPERSAMPLE {
                            for sx in 0..SUPERSAMPLE {
                                let x = px as f32 + (sx as f32 + 0.5) / SUPERSAMPLE as f32;
                                let y = py as f32 + (sy as f32 + 0.5) / SUPERSAMPLE as f32;
                                if shapes.iter().any(|s| s.covers(x, y)) {
                                    cover += 1.0;
                                    bright += lit;
                                }
                            }
                        }
                    }
                    let alpha = cover / n_sub;
                    let lit = if cover > 0.0 { bright / cover } else { 1.0 };
                    for c in 0..3 {
                        let bg = v.background[c] as f32 + shade;
                        let fg = v.colour[c] as f32 * lit;
                        let x = (bg * (1.0 - alpha) + fg * alpha) * v.gain
                            + v.grain * dsp::white(&mut rng);
                        out.push(x.round().clamp(0.0, 255.0) as u8);
                    }
                }
            }
            out
        })
        .collect()
}

/// `rgb` (row-major, `width × height × 3`) as PNG bytes.
pub fn png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, String> {
    use image::ImageEncoder;
    let mut buf = Vec::new();
    image::codecs::png::PngEncoder::new(&mut buf)
        .write_image(rgb, width, height, image::ExtendedColorType::Rgb8)
        .map_err(|e| e.to_string())?;
    Ok(buf)
}
