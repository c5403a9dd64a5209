"""Time FENSE: aac-metrics 0.5.5 vs the Rust `fense` crate, same machine, same thread count.

Run from the repository root:

    /work/venv-ref/bin/python scripts/bench_fense.py [--clips 500] [--refs 5] [--threads 2]

The real models cannot be downloaded here, so this builds random-weight models of the real
architecture sizes in a work directory (default /tmp/fense-bench, reused when present):
- sentence-BERT like paraphrase-TinyBERT-L6-v2: BERT 6 layers, hidden 312, 12 heads,
  intermediate 1200, vocab 30522, mean pooling, max_seq_length 128;
- echecker like echecker_clotho_audiocaps_base: bert-base-uncased size (12 layers, hidden 768,
  12 heads, intermediate 3072, vocab 30522) + the 6-class head, as a .ckpt;
- a 30522-entry WordPiece vocabulary (BERT's special-token ids; the corpus' words, letters
  and `##` pieces, then filler), so captions tokenise to about as many tokens as with the
  real vocabulary.
Weights use transformers' default init (std 0.02): scores are meaningless, speed is not.
The corpus comes from the caption generator of scripts/make_metric_fixtures.py (seed 2024).

Times (best of --repeats, models already loaded on both sides):
- aac-metrics: what `fense(cands, refs, sbert_model=<loaded>, echecker=<loaded>,
  batch_size=32, device="cpu")` runs, part by part: `sbert_sim`, `fer`, `_fense_from_outputs`,
  after `torch.set_num_threads(threads)`; `fer` pads every echecker input to 64
  tokens (`padding="max_length"`), which the Rust side does not need to (masked positions do not
  change the result);
- Rust: `target/release/examples/fense_json` with RAYON_NUM_THREADS=threads; its own timer
  around similarity + fluency (model load excluded, reported separately).
Prints both, the ratio, and the max |difference| of the per-candidate FENSE and similarity.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_metric_fixtures as fx  # noqa: E402  (caption generator)

ROOT = fx.ROOT
BIN = os.path.join(ROOT, "target", "release", "examples", "fense_json")
ECHECKER_TYPE = "bench/bert-base-uncased-random"


def corpus(n_clips, n_refs, seed=2024):
    rng = random.Random(seed)
    cands, refs = [], []
    for _ in range(n_clips):
        rs = [fx.sentence(rng) for _ in range(n_refs)]
        cands.append(fx.variant(rng, rng.choice(rs)) if rng.random() < 0.5 else fx.sentence(rng))
        refs.append(rs)
    return cands, refs


def make_vocab(texts, size=30522):
    import re
    vocab = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    seen = set(vocab)

    def add(t):
        if t not in seen:
            seen.add(t)
            vocab.append(t)

    for c in "!\"#$%&'()*+,-./0123456789:;<=>?@[\\]^_`{|}~abcdefghijklmnopqrstuvwxyz":
        add(c)
        add("##" + c)
    for t in texts:
        for w in re.findall(r"\w+", t.lower()):
            add(w)
    i = 0
    while len(vocab) < size:
        add(f"filler{i}")
        i += 1
    return vocab[:size]


def build_models(work, texts):
    from transformers import BertConfig, BertModel, BertTokenizerFast

    sbert = os.path.join(work, "sbert")
    ckpt = os.path.join(work, "echecker_bench.ckpt")
    base = os.path.join(work, ECHECKER_TYPE)
    if os.path.exists(os.path.join(work, "done")):
        return sbert, ckpt, base
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(base)
    vocab = make_vocab(texts)
    vpath = os.path.join(work, "vocab.txt")
    with open(vpath, "w") as f:
        f.write("\n".join(vocab) + "\n")
    torch.manual_seed(0)

    def cfg(h, layers, heads, inter):
        return BertConfig(vocab_size=len(vocab), hidden_size=h, num_hidden_layers=layers,
                          num_attention_heads=heads, intermediate_size=inter,
                          max_position_embeddings=512, hidden_act="gelu")

    BertTokenizerFast(vocab_file=vpath, do_lower_case=True).save_pretrained(sbert)
    BertModel(cfg(312, 6, 12, 1200)).eval().save_pretrained(sbert, safe_serialization=True)
    with open(os.path.join(sbert, "modules.json"), "w") as f:
        json.dump([
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        ], f)
    with open(os.path.join(sbert, "sentence_bert_config.json"), "w") as f:
        json.dump({"max_seq_length": 128, "do_lower_case": False}, f)
    os.makedirs(os.path.join(sbert, "1_Pooling"))
    with open(os.path.join(sbert, "1_Pooling", "config.json"), "w") as f:
        json.dump({"word_embedding_dimension": 312, "pooling_mode_mean_tokens": True}, f)

    c = cfg(768, 12, 12, 3072)
    c.save_pretrained(base)
    BertTokenizerFast(vocab_file=vpath, do_lower_case=True).save_pretrained(base)
    enc = BertModel(c)
    head = torch.nn.Linear(768, 6)
    state = {f"encoder.{k}": v for k, v in enc.state_dict().items()}
    state["encoder.embeddings.position_ids"] = torch.arange(512).unsqueeze(0)
    state.update({f"clf.{k}": v for k, v in head.state_dict().items()})
    torch.save({"model_type": ECHECKER_TYPE, "num_classes": 6, "state_dict": state}, ckpt)
    open(os.path.join(work, "done"), "w").close()
    return sbert, ckpt, base


def load_reference(sbert_dir, ckpt, base):
    """aac-metrics' models, through its own loaders (model_type mapped to the local dir)."""
    import importlib

    from transformers import AutoConfig, AutoModel, BertTokenizerFast

    fer_mod = importlib.import_module("aac_metrics.functional.fer")

    class Local:
        def __init__(self, kind):
            self.kind = kind

        def from_pretrained(self, name, *a, **k):
            assert name == ECHECKER_TYPE, name
            if self.kind == "model":
                return AutoModel.from_config(AutoConfig.from_pretrained(base))
            return BertTokenizerFast.from_pretrained(base)

    data = tempfile.mkdtemp()
    os.symlink(ckpt, os.path.join(data, "echecker_bench.ckpt"))
    os.environ["FENSE_DATA"] = data
    fer_mod._PRETRAIN_ECHECKERS_DICT["echecker_bench"] = ("file:///nonexistent", "unused")
    fer_mod.AutoModel = Local("model")
    fer_mod.AutoTokenizer = Local("tokenizer")
    from aac_metrics.functional.fense import _load_models_and_tokenizer
    return _load_models_and_tokenizer(sbert_model=sbert_dir, echecker="echecker_bench", device="cpu")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=500)
    ap.add_argument("--refs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--work", default="/tmp/fense-bench")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    cands, refs = corpus(args.clips, args.refs)
    sbert_dir, ckpt, base = build_models(args.work, cands + [r for rs in refs for r in rs])
    path = os.path.join(args.work, f"corpus_{args.clips}x{args.refs}.json")
    with open(path, "w") as f:
        json.dump({"candidates": cands, "references": refs}, f)

    from aac_metrics.functional.fense import _fense_from_outputs
    from aac_metrics.functional.fer import fer
    from aac_metrics.functional.sbert_sim import sbert_sim

    t = time.perf_counter()
    sbert, ech, ech_tok = load_reference(sbert_dir, ckpt, base)
    py_load = time.perf_counter() - t
    py_best, py_out, py_parts = None, None, None
    for _ in range(args.repeats):
        # What `fense(...)` does, timed per part: sbert_sim, fer, then _fense_from_outputs.
        with torch.no_grad():
            t = time.perf_counter()
            s_out = sbert_sim(cands, refs, sbert_model=sbert, device="cpu", batch_size=32)
            t_sim = time.perf_counter() - t
            t = time.perf_counter()
            f_out = fer(cands, echecker=ech, echecker_tokenizer=ech_tok, device="cpu",
                        batch_size=32, return_probs=True)
            t_fer = time.perf_counter() - t
            out = _fense_from_outputs(s_out, f_out, 0.9)
        dt = t_sim + t_fer
        if py_best is None or dt < py_best:
            py_best, py_out, py_parts = dt, out, (t_sim, t_fer)

    if not os.path.exists(BIN):
        subprocess.run(["cargo", "build", "--release", "-p", "fense", "--example", "fense_json"],
                       cwd=ROOT, check=True)
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    rs_best, rs_sum = None, None
    scores_path = os.path.join(args.work, "rust_scores.json")
    for _ in range(args.repeats):
        res = subprocess.run([BIN, "--sbert", sbert_dir, "--echecker", ckpt, "--echecker-base", base,
                              "--input", path, "--output", scores_path],
                             env=env, capture_output=True, text=True, check=True)
        s = json.loads(res.stdout)
        if rs_best is None or s["score_s"] < rs_best:
            rs_best, rs_sum = s["score_s"], s
    with open(scores_path) as f:
        rust = json.load(f)

    sents = py_out[1]
    d_fense = max(abs(a - b) for a, b in zip(rust["fense"], sents["fense"].tolist()))
    d_sim = max(abs(a - b) for a, b in zip(rust["sbert_sim"], sents["sbert_sim"].tolist()))
    n_sent = args.clips * (1 + args.refs)
    print(f"corpus: {args.clips} candidates x {args.refs} references ({n_sent} sentences), "
          f"{args.threads} threads, torch {torch.__version__}")
    print(f"aac-metrics: load {py_load:.2f} s, fense {py_best:.2f} s "
          f"(sbert_sim {py_parts[0]:.2f} s, fer {py_parts[1]:.2f} s)")
    print(f"rust:        load {rs_sum['load_s']:.2f} s, fense {rs_best:.2f} s "
          f"(similarity {rs_sum['similarity_s']:.2f} s, fluency {rs_sum['fluency_s']:.2f} s)")
    print(f"ratio aac-metrics / rust: {py_best / rs_best:.2f}x")
    print(f"max |diff| per candidate: fense {d_fense:.2e}, sbert_sim {d_sim:.2e}; "
          f"corpus fense rust {rs_sum['fense']:.6f} vs aac-metrics {float(py_out[0]['fense']):.6f}")


if __name__ == "__main__":
    main()
