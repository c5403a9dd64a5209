//! numpy's float64 summation order, so means match pycocoevalcap's `np.mean` to the last bit.

/// `np.add.reduce` on a contiguous float64 array: the first element, plus numpy's pairwise
/// sum (8 accumulators, blocks of 128) of the rest.
pub fn np_sum(values: &[f64]) -> f64 {
    match values.split_first() {
        None => 0.0,
        Some((first, rest)) => first + pairwise_sum(rest),
    }
}

/// `np.mean` of a non-empty float64 array (NaN for an empty one, as numpy).
pub fn np_mean(values: &[f64]) -> f64 {
    np_sum(values) / values.len() as f64
}

fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        a.iter().fold(0.0, |acc, &x| acc + x)
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let whole = n - n % 8;
        for chunk in a[8..whole].chunks_exact(8) {
            for (acc, &x) in r.iter_mut().zip(chunk) {
                *acc += x;
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[whole..] {
            res += x;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_like_a_sum() {
        let v: Vec<f64> = (0..1000).map(f64::from).collect();
        assert_eq!(np_sum(&v), 499_500.0);
        assert_eq!(np_mean(&[1.0, 2.0]), 1.5);
        assert!(np_mean(&[]).is_nan());
    }
}
