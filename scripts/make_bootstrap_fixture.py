"""Generate the bootstrap reference fixture with numpy alone (the reference env's numpy).

Run from the repository root:

    /work/venv-ref/bin/python scripts/make_bootstrap_fixture.py

Deterministic (numpy's PCG64 with fixed seeds, no clock); overwrites
tests/fixtures/bootstrap/reference.json. The resample indices are drawn here, by numpy, and
saved with the data, so the Rust test (`crates/metrics/tests/bootstrap.rs`) feeds the same
indices through `metrics::bootstrap::Resamples::Given` and owes nothing to the Rust RNG.

Each case holds:

- "a", "b"          per-item values of two systems on the same items (floats, or 0/1 for an
                    accuracy);
- "indices"         [resamples][n] item indices drawn with replacement
                    (`rng.integers(0, n, size=(B, n))`);
- "mean_a"          the mean of `a` over each resample (`a[idx].mean()`);
- "diff"            the paired difference of the means, `a[idx].mean() - b[idx].mean()`;
- "intervals"       per confidence c: `np.percentile(x, [100 * (1 - c) / 2, 100 * (1 + c) / 2])`
                    of "mean_a" ("mean") and of "diff" ("diff"), numpy's default (linear)
                    interpolation.
"""

import json
import os

import numpy as np

OUT = os.path.join("tests", "fixtures", "bootstrap", "reference.json")
CONFIDENCES = [0.95, 0.9, 0.5, 0.99]


def case(name, a, b, resamples, seed):
    rng = np.random.default_rng(seed)
    n = len(a)
    indices = rng.integers(0, n, size=(resamples, n))
    mean_a = np.array([a[idx].mean() for idx in indices])
    diff = np.array([a[idx].mean() - b[idx].mean() for idx in indices])
    intervals = []
    for c in CONFIDENCES:
        q = [100 * (1 - c) / 2, 100 * (1 + c) / 2]
        intervals.append(
            {
                "confidence": c,
                "mean": [float(x) for x in np.percentile(mean_a, q)],
                "diff": [float(x) for x in np.percentile(diff, q)],
            }
        )
    return {
        "name": name,
        "a": [float(x) for x in a],
        "b": [float(x) for x in b],
        "indices": indices.tolist(),
        "mean_a": [float(x) for x in mean_a],
        "diff": [float(x) for x in diff],
        "intervals": intervals,
    }


def main():
    data = np.random.default_rng(20240612)
    cases = []
    # Per-clip scores of two captioning systems (CIDEr-D-like: skewed, paired, base lower).
    base = data.gamma(2.0, 0.25, size=101)
    tuned = base + data.normal(0.08, 0.2, size=101)
    cases.append(case("scores", tuned, base, 500, 1))
    # Correctness of two classifiers on the same samples (accuracy).
    truth = data.random(size=80)
    a = (truth < 0.72).astype(float)
    b = ((truth + data.normal(0, 0.1, size=80)) < 0.75).astype(float)
    cases.append(case("accuracy", a, b, 500, 2))
    # Few items and an odd number of resamples (interpolation between ranks).
    small = data.normal(0.5, 0.3, size=9)
    cases.append(case("small", small, small[::-1].copy(), 201, 3))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"numpy": np.__version__, "cases": cases}, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
