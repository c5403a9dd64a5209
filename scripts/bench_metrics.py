"""Time caption metrics: pycocoevalcap 1.2 and aac-metrics vs the Rust `metrics` crate.

Run from the repository root, after `cargo test --release -p metrics` (which builds
`target/release/examples/score_json`; the script runs that command itself if the binary is
missing):

    /work/venv-ref/bin/python scripts/bench_metrics.py [--clips 5000] [--refs 5]

Builds a deterministic corpus (default 5,000 predictions x 5 references, seed 2024, from the
caption generator of scripts/make_metric_fixtures.py), then times
- pycocoevalcap: PTBTokenizer (Java) on references and predictions, Bleu(4), Rouge(), Cider();
- aac-metrics 0.5.5: bleu, rouge_l, cider_d on the same PTB-tokenised strings (its own Java
  tokenizer needs extra setup, so it gets pycocoevalcap's tokens);
- Rust: `score_json` (score_captions: tokenisation + BLEU + ROUGE-L + CIDEr-D), best of 3,
  its internal time (file I/O excluded), its stage times (a second, stage-by-stage pass) and
  the process wall time (both passes, JSON I/O, startup).
Prints the times, the ratios, and the max abs difference of Rust vs pycocoevalcap scores.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_metric_fixtures as fx  # noqa: E402  (caption generator, pycocoevalcap imports)

from pycocoevalcap.bleu.bleu import Bleu  # noqa: E402
from pycocoevalcap.cider.cider import Cider  # noqa: E402
from pycocoevalcap.rouge.rouge import Rouge  # noqa: E402
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer  # noqa: E402

ROOT = fx.ROOT
BIN = os.path.join(ROOT, "target", "release", "examples", "score_json")


def corpus(n_clips, n_refs, seed=2024):
    rng = random.Random(seed)
    preds, refs = [], []
    for _ in range(n_clips):
        rs = [fx.sentence(rng) for _ in range(n_refs)]
        u = rng.random()
        if u < 0.5:
            p = fx.variant(rng, rng.choice(rs))
        elif u < 0.9:
            p = fx.sentence(rng)
        else:
            p = fx.clip(rng, rng.choice(["one_word", "long", "repeated", "identical"]))[0]
        preds.append(p)
        refs.append(rs)
    return preds, refs


def timed(f):
    t = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t


def run_pycoco(preds, refs):
    gts = {i: [{"caption": r} for r in rs] for i, rs in enumerate(refs)}
    res = {i: [{"caption": p}] for i, p in enumerate(preds)}
    tok = PTBTokenizer()
    (gts_t, res_t), t_tok = timed(lambda: (tok.tokenize(gts), tok.tokenize(res)))
    (bleu, t_bleu) = timed(lambda: Bleu(4).compute_score(gts_t, res_t, verbose=0))
    (rouge, t_rouge) = timed(lambda: Rouge().compute_score(gts_t, res_t))
    (cider, t_cider) = timed(lambda: Cider().compute_score(gts_t, res_t))
    n = len(preds)
    scores = {
        "corpus": {"bleu": list(bleu[0]), "rouge_l": float(rouge[0]), "cider_d": float(cider[0])},
        "per_clip": {
            "bleu": [[bleu[1][k][i] for k in range(4)] for i in range(n)],
            "rouge_l": [float(x) for x in rouge[1]],
            "cider_d": [float(x) for x in cider[1]],
        },
    }
    times = {"tokenize": t_tok, "bleu": t_bleu, "rouge_l": t_rouge, "cider_d": t_cider}
    tokens = ([res_t[i][0] for i in range(n)], [gts_t[i] for i in range(n)])
    return scores, times, tokens


def run_aac(hyps, refs):
    try:
        from aac_metrics.functional.bleu import bleu
        from aac_metrics.functional.cider_d import cider_d
        from aac_metrics.functional.rouge_l import rouge_l
    except Exception as e:  # torch missing etc.
        print(f"aac-metrics unavailable: {e}", file=sys.stderr)
        return None, None
    b, t_bleu = timed(lambda: bleu(hyps, refs, n=4))
    r, t_rouge = timed(lambda: rouge_l(hyps, refs))
    c, t_cider = timed(lambda: cider_d(hyps, refs))
    corpus = {"bleu_4": float(b[0]["bleu_4"]), "rouge_l": float(r[0]["rouge_l"]), "cider_d": float(c[0]["cider_d"])}
    return corpus, {"bleu": t_bleu, "rouge_l": t_rouge, "cider_d": t_cider}


def run_rust(path, repeats=3):
    if not os.path.exists(BIN):
        subprocess.run(["cargo", "test", "--release", "-p", "metrics", "--no-run"], cwd=ROOT, check=True)
    best = None
    for _ in range(repeats):
        t = time.perf_counter()
        out = subprocess.run([BIN, path, "--per-clip", "--stages"], capture_output=True, check=True, text=True).stdout
        wall = time.perf_counter() - t
        result = json.loads(out)
        result["wall_s"] = wall
        if best is None or result["elapsed_s"] < best["elapsed_s"]:
            best = result
    return best


def max_diff(rust, ref):
    diffs = {}
    for k in range(4):
        d = [abs(rust["corpus"]["bleu"][k] - ref["corpus"]["bleu"][k])]
        d += [abs(a[k] - b[k]) for a, b in zip(rust["per_clip"]["bleu"], ref["per_clip"]["bleu"])]
        diffs[f"bleu_{k + 1}"] = max(d)
    for m in ["rouge_l", "cider_d"]:
        d = [abs(rust["corpus"][m] - ref["corpus"][m])]
        d += [abs(a - b) for a, b in zip(rust["per_clip"][m], ref["per_clip"][m])]
        diffs[m] = max(d)
    return diffs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=5000)
    ap.add_argument("--refs", type=int, default=5)
    args = ap.parse_args()
    preds, refs = corpus(args.clips, args.refs)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "captions.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"predictions": preds, "references": refs}, f, ensure_ascii=False)
        rust = run_rust(path)
    py_scores, py_t, (hyp_t, ref_t) = run_pycoco(preds, refs)
    aac_corpus, aac_t = run_aac(hyp_t, ref_t)

    py_metrics = py_t["bleu"] + py_t["rouge_l"] + py_t["cider_d"]
    py_total = py_t["tokenize"] + py_metrics
    rs = rust["stages_s"]
    rs_metrics = rs["bleu"] + rs["rouge_l"] + rs["cider_d"]
    print(f"corpus: {args.clips} predictions x {args.refs} references")
    print(f"{'stage':<10}{'pycocoevalcap':>15}{'aac-metrics':>13}{'rust':>11}")
    for s in ["tokenize", "bleu", "rouge_l", "cider_d"]:
        aac = f"{aac_t[s]:.3f}s" if aac_t and s in aac_t else "-"
        print(f"{s:<10}{py_t[s]:>14.3f}s{aac:>13}{rs[s]:>10.3f}s")
    aac_sum = f"{sum(aac_t.values()):.3f}s" if aac_t else "-"
    print(f"{'metrics':<10}{py_metrics:>14.3f}s{aac_sum:>13}{rs_metrics:>10.3f}s")
    print(f"{'total':<10}{py_total:>14.3f}s{'':>13}{rust['elapsed_s']:>10.3f}s"
          f"  (rust process wall {rust['wall_s']:.3f}s: startup, JSON, score_captions, then the"
          " stage-by-stage rerun)")
    print(f"speed-up, total (pycocoevalcap / rust score_captions): {py_total / rust['elapsed_s']:.1f}x")
    print(f"speed-up, metrics only (pycocoevalcap / rust): {py_metrics / rs_metrics:.1f}x")
    if aac_t:
        print(f"speed-up, metrics only (aac-metrics / rust): {sum(aac_t.values()) / rs_metrics:.1f}x")
    print(f"speed-up, tokenisation (Java PTBTokenizer / rust): {py_t['tokenize'] / rs['tokenize']:.1f}x")
    print("max |rust - pycocoevalcap| (corpus + per clip):",
          ", ".join(f"{k} {v:.2e}" for k, v in max_diff(rust, py_scores).items()))
    if aac_corpus:
        print("aac-metrics corpus:", aac_corpus, " pycocoevalcap:", py_scores["corpus"])


if __name__ == "__main__":
    main()
