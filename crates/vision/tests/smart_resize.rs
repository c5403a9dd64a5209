//! `smart_resize` edge cases, each worked out by hand from the reference formula
//! (transformers 4.57 `image_processing_qwen2_vl.smart_resize`; the values were also
//! printed by it). Arguments are `(height, width, factor, min_pixels, max_pixels)`.

use vision::{smart_resize, Error, DEFAULT_MAX_PIXELS as MAX, DEFAULT_MIN_PIXELS as MIN};

fn sr(h: usize, w: usize, min: usize, max: usize) -> (usize, usize) {
    smart_resize(h, w, 28, min, max).unwrap()
}

#[test]
fn already_fitting_sizes_round_to_the_factor() {
    // round(224 / 28) = 8 -> 224; 224² = 50176 within [3136, 1003520].
    assert_eq!(sr(224, 224, MIN, MAX), (224, 224));
    // round(1080 / 28) = round(38.57) = 39 -> 1092, round(1920 / 28) = round(68.57) = 69
    // -> 1932; 1092 * 1932 = 2109744 > max: beta = sqrt(2073600 / 1003520) = 1.43745;
    // floor(1080 / 1.43745 / 28) = floor(26.83) = 26 -> 728;
    // floor(1920 / 1.43745 / 28) = floor(47.70) = 47 -> 1316.
    assert_eq!(sr(1080, 1920, MIN, MAX), (728, 1316));
}

#[test]
fn rounding_is_half_to_even_as_python() {
    // 42 / 28 = 1.5 -> 2 and 70 / 28 = 2.5 -> 2 (half to even): both 56. Rounding half up
    // would give (56, 84).
    assert_eq!(sr(42, 70, 0, usize::MAX), (56, 56));
    // 98 / 28 = 3.5 -> 4: 112.
    assert_eq!(sr(98, 98, 0, usize::MAX), (112, 112));
}

#[test]
fn scales_up_below_min_pixels() {
    // The "small" fixture, 30 x 40: round -> 28 x 28 = 784 < 3136:
    // beta = sqrt(3136 / 1200) = 1.61658; ceil(30 * 1.61658 / 28) = ceil(1.73) = 2 -> 56;
    // ceil(40 * 1.61658 / 28) = ceil(2.31) = 3 -> 84.
    assert_eq!(sr(30, 40, 3136, 37632), (56, 84));
    // 28 x 28: beta = sqrt(3136 / 784) = 2 exactly: ceil(2.0) = 2 -> 56.
    assert_eq!(sr(28, 28, MIN, MAX), (56, 56));
    // 13 x 13 rounds to 0 x 0, then up: beta = sqrt(3136 / 169) = 4.3077;
    // ceil(13 * 4.3077 / 28) = ceil(2.0) = 2 -> 56.
    assert_eq!(sr(13, 13, MIN, MAX), (56, 56));
}

#[test]
fn scales_down_above_max_pixels() {
    // 1000 x 1000: round(35.71) = 36 -> 1008² = 1016064 > 1003520:
    // beta = sqrt(1e6 / 1003520) = 0.998245; floor(1000 / 0.998245 / 28) = floor(35.78) = 35
    // -> 980.
    assert_eq!(sr(1000, 1000, MIN, MAX), (980, 980));
    // The "large" fixture, 500 x 700 with max 37632: 504 x 700 too big:
    // beta = sqrt(350000 / 37632) = 3.04969; floor(500 / 3.04969 / 28) = floor(5.86) = 5
    // -> 140; floor(700 / 3.04969 / 28) = floor(8.20) = 8 -> 224.
    assert_eq!(sr(500, 700, 3136, 37632), (140, 224));
    // A phone photo, 4032 x 3024: beta = sqrt(12192768 / 1003520) = 3.48568;
    // floor(41.31) = 41 -> 1148, floor(30.98) = 30 -> 840.
    assert_eq!(sr(4032, 3024, MIN, MAX), (1148, 840));
}

#[test]
fn mixed_directions_and_the_factor_floor() {
    // The "wide" fixture, 97 x 333: round(3.46) = 3 -> 84, round(11.89) = 12 -> 336;
    // 84 * 336 = 28224 within [3136, 37632]: kept.
    assert_eq!(sr(97, 333, 3136, 37632), (84, 336));
    // 50 x 10000 with max 3136: 56 x 9996 too big: beta = sqrt(500000 / 3136) = 12.627;
    // floor(50 / 12.627 / 28) = 0 -> max(28, 0) = 28; floor(28.28) = 28 -> 784. The result
    // (21952 pixels) is over max_pixels: the reference does not check again.
    assert_eq!(sr(50, 10000, 3136, 3136), (28, 784));
}

#[test]
fn aspect_ratio_over_200_is_refused() {
    // 200 is allowed (the test is `> 200`): 1 x 200 rounds to 0 x 196, then up:
    // beta = sqrt(3136 / 200) = 3.9598; ceil(0.14) = 1 -> 28; ceil(28.28) = 29 -> 812.
    assert_eq!(sr(1, 200, MIN, MAX), (28, 812));
    for (h, w) in [(1, 201), (201, 1), (10, 2001)] {
        match smart_resize(h, w, 28, MIN, MAX) {
            Err(Error::AspectRatio { ratio, .. }) => assert!(ratio > 200.0),
            other => panic!("{h}x{w}: {other:?}"),
        }
    }
    let msg = smart_resize(1, 201, 28, MIN, MAX).unwrap_err().to_string();
    assert!(
        msg.contains("absolute aspect ratio must be smaller than 200, got 201"),
        "{msg}"
    );
}

#[test]
fn empty_sizes_and_zero_factor_are_errors() {
    assert!(matches!(
        smart_resize(0, 5, 28, MIN, MAX),
        Err(Error::EmptyImage { .. })
    ));
    assert!(matches!(
        smart_resize(5, 0, 28, MIN, MAX),
        Err(Error::EmptyImage { .. })
    ));
    assert!(matches!(
        smart_resize(5, 5, 0, MIN, MAX),
        Err(Error::InvalidConfig(_))
    ));
}
