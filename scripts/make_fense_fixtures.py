"""Generate the FENSE / SPIDEr-FL fixtures from aac-metrics itself (the reference env).

Run from the repository root:

    /work/venv-ref/bin/python scripts/make_fense_fixtures.py

Pinned reference: aac-metrics 0.5.5 (`aac_metrics.functional.{fense,fer,sbert_sim,spider_fl}`),
sentence-transformers 5.7.0, transformers 4.57.6, tokenizers 0.22.2, torch 2.11.0 (CPU),
numpy 1.26.4. No network: the real models (sentence-transformers/paraphrase-TinyBERT-L6-v2,
echecker_clotho_audiocaps_base.ckpt + its `bert-base-uncased` config and tokenizer) are NOT
downloaded. Instead this script writes random-weight checkpoints of the same two architectures,
tiny, in the formats the real ones are published in, and runs aac-metrics' own code on them.
Deterministic (fixed seeds, no clock); everything under tests/fixtures/fense/ is overwritten:

- sbert/            a sentence-transformers directory laid out like paraphrase-TinyBERT-L6-v2:
                    modules.json (Transformer at the root, Pooling in 1_Pooling),
                    sentence_bert_config.json (max_seq_length 128, do_lower_case false),
                    1_Pooling/config.json (mean tokens), config.json (BertModel: 2 layers,
                    hidden 32, 4 heads, intermediate 64), model.safetensors and
                    pytorch_model.bin (the same weights), and a BertTokenizerFast
                    (do_lower_case) saved by transformers: vocab.txt, tokenizer.json,
                    tokenizer_config.json, special_tokens_map.json. The WordPiece vocabulary is
                    built here from the fixture's words (255 entries; the echecker's: 131),
                    with some words left out so they split into pieces, and some characters
                    left out so they are [UNK].
- echecker/echecker_fixture.ckpt
                    the fluency-error detector in the format its authors publish
                    (blmoistawinde/fense V0.1 `.ckpt`): `torch.save` of
                    {"model_type": "fense-fixture/bert-tiny-uncased", "num_classes": 6,
                    "state_dict": BERTFlatClassifier's state dict}, whose keys are
                    `encoder.*` (a BertModel incl. the pooler and the legacy
                    `encoder.embeddings.position_ids` buffer that aac-metrics pops) and
                    `clf.{weight,bias}`. BERT: 2 layers, hidden 48, 4 heads, intermediate 96.
- echecker/fense-fixture/bert-tiny-uncased/
                    what `AutoModel/AutoTokenizer.from_pretrained(model_type)` read for it (the
                    real checkpoint's model_type is a hub id, `bert-base-uncased`): config.json
                    and a BertTokenizerFast with its own, smaller vocabulary. No weights: they
                    come from the .ckpt.
- cases.json        the captions (candidates) and references, and what aac-metrics makes of them:
                    `fense(...)` corpus and per-sentence (sbert_sim, fer, fense and the six
                    fluency_error.*_prob), the same with batch_size 4 (its multi-batch path),
                    `spider_fl(...)` (see below), plus diagnostics: the token ids of both
                    tokenizers, the normalised sentence embeddings of the candidates and the
                    echecker logits.

How aac-metrics is pointed at these files (its loaders, monkeypatched only where they would go
to the network): the sentence-BERT is passed as the directory path (SentenceTransformer(path),
aac-metrics' `_load_sbert`); the echecker goes through aac-metrics' own
`__load_pretrain_echecker` (torch.load, position_ids popped, load_state_dict): the .ckpt is
copied into a temporary FENSE_DATA directory and registered in `_PRETRAIN_ECHECKERS_DICT` as
"echecker_fixture" (the file exists, so nothing is downloaded or checksummed), and the module's
`AutoModel` / `AutoTokenizer` map the model_type to the local directory (`AutoModel` builds the
BertModel from config.json; the .ckpt's state dict then overwrites every weight).

The error-class bias of the detector's head is shifted so that about half the candidates have
an error probability above the 0.9 threshold and none is within 0.02 (in logit units: 0.25) of
it, so the 0/1 penalty is decided the same way by any faithful implementation.

SPIDEr-FL: SPICE needs Java + Stanford CoreNLP 3.6.0, which is not available here. The real
`aac_metrics.functional.spider_fl.spider_fl` is called with its `spider` replaced by a function
that returns aac-metrics' own CIDEr-D (`cider_d`, default str.split tokenizer) and, as SPICE, a
fixed per-sentence value (seeded uniform in [0, 0.4], recorded as `spice`); SPIDEr = (CIDEr-D +
SPICE) / 2 per sentence, corpus = mean, exactly as `spider` combines them. Everything after that
(fer with the fixture echecker, the penalty, the means) is aac-metrics' code unchanged. The Rust
test feeds the recorded per-sentence SPIDEr values to its SPIDEr-FL function.
"""

import json
import os
import random
import re
import shutil
import sys
import tempfile

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import AutoConfig, AutoModel, BertConfig, BertModel, BertTokenizerFast

import importlib

from aac_metrics.functional.cider_d import cider_d
from aac_metrics.functional.fense import fense
from aac_metrics.functional.spider_fl import spider_fl

# The modules themselves (aac_metrics.functional re-exports functions of the same names).
fer_mod = importlib.import_module("aac_metrics.functional.fer")
spider_fl_mod = importlib.import_module("aac_metrics.functional.spider_fl")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "fense")
ECHECKER_TYPE = "fense-fixture/bert-tiny-uncased"
ECHECKER_NAME = "echecker_fixture"
THRESHOLD = 0.9
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

LONG = (
    "a very long description of a busy street where many cars and trucks pass by honking their "
    "horns while people talk loudly on the sidewalk and a dog barks at a cyclist who rings a bell "
    "and somewhere far away a siren wails as construction workers hammer metal beams and a radio "
    "plays music from an open window while birds chirp in the trees above the noisy crowd of "
    "pedestrians crossing the road at the traffic lights near the old train station where an "
    "announcement echoes through the hall"
)

# (candidate, references): case, punctuation, repeated words, broken grammar, empty-ish,
# whitespace, non-ASCII, CJK, over-long (truncated at 64 echecker / 128 sbert tokens).
CASES = [
    ("A dog barks loudly while a car passes by.",
     ["A dog is barking as a car drives past.", "A car passes and a dog barks.",
      "Dog barking with traffic noise in the background."]),
    ("a dog barks loudly while a car passes by",
     ["A dog is barking as a car drives past.", "A car passes and a dog barks.",
      "A dog barks at a passing vehicle."]),
    ("A DOG BARKS LOUDLY WHILE A CAR PASSES BY!!!",
     ["A dog is barking as a car drives past.", "Dogs bark and cars pass."]),
    ("birds chirping chirping chirping chirping in the distance",
     ["Birds are chirping in the distance.", "Several birds sing far away.",
      "Birds chirp while wind blows softly.", "Distant birds chirping."]),
    ("a man is speaking and and and a crowd is",
     ["A man speaks to a crowd.", "A man gives a speech while people murmur.",
      "A crowd listens as a man talks."]),
    ("", ["Water runs from a faucet.", "A tap is running."]),
    ("   ", ["Rain falls on a roof.", "Heavy rain on a metal roof."]),
    (".", ["A bell rings.", "A bell is ringing twice."]),
    ("water running", ["Water runs from a faucet.", "A tap is running into a sink.",
                       "Water flows steadily."]),
    ("Rain falls on a metal roof, thunder rumbles in the background; wind howls.",
     ["Rain falls on a metal roof while thunder rumbles.", "Heavy rain and thunder.",
      "A storm with rain, thunder and wind."]),
    ("a a a a a a", ["A woman speaks.", "A woman is talking."]),
    ("Someone types on a keyboard then a phone rings",
     ["A person types on a keyboard and a phone rings.", "Typing followed by a ringing phone.",
      "Keys clicking, then a telephone rings.", "Someone is typing.",
      "A phone rings while someone types."]),
    (LONG, ["A busy street with cars, people and a dog.", "Traffic and people in a city."]),
    ("Café música \u2014 naïve façade, 2nd floor, 3\u00bd \u2460 \u00b2 e\u0301t\u00e9 _under_score",
     ["Music plays in a cafe.", "People talk in a cafe while music plays."]),
    ("engine idling with with a high pitched whine and",
     ["An engine idles with a high pitched whine.", "A motor runs and whines.",
      "An idling engine."]),
    ("a cat\tmeows\nsoftly", ["A cat meows softly.", "A kitten is meowing."]),
    ("people talking, laughing & clapping (applause)",
     ["People talk and laugh, then applaud.", "A crowd claps and cheers.",
      "Applause and laughter from an audience."]),
    ("vehicle engine revving revving revving",
     ["A vehicle engine revs several times.", "An engine revs up.", "A car engine revving."]),
    ("a woman speaks and then a woman speaks",
     ["A woman speaks.", "A woman is talking.", "A woman talks and pauses."]),
    ("it is a sound of a bell that rings and rings",
     ["A bell rings.", "A bell is ringing twice.", "Church bells ring."]),
    ("wind blowing into microphone", ["Wind blows into a microphone.", "Wind noise.",
                                      "Strong wind buffets the microphone."]),
    ("the the the the the", ["A dog barks.", "A dog is barking."]),
    ("鸟叫 birds singing 叫", ["Birds are singing.", "Birds chirp."]),
    ("a dog's bark - and a cat's meow...", ["A dog barks and a cat meows.",
                                             "A dog and a cat make noises."]),
]

# Words left out of the sentence-BERT vocabulary (they split into pieces), and of the echecker's.
SBERT_HOLDOUT = {"chirping", "keyboard", "microphone", "revving", "applause", "description",
                 "construction", "announcement", "pedestrians", "loudly", "facade"}
PIECES = ["##s", "##ing", "##ed", "##er", "##ly", "##tion"]
PUNCT_SBERT = [".", ",", "!", "?", "'", "-", ";", "("]  # ')' '&' '\u2014' stay [UNK]
PUNCT_ECHECKER = []  # its text preprocessing removes punctuation anyway


def words_of(texts):
    out = []
    for t in texts:
        for w in re.findall(r"[a-z]+", t.lower()):
            if w not in out:
                out.append(w)
    return out


def make_vocab(words, punct, extra):
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab = []
    for w in SPECIALS + punct + letters + ["##" + c for c in letters] + PIECES + list("0123456789") + extra + words:
        if w not in vocab:
            vocab.append(w)
    return vocab


def write_tokenizer(vocab, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "vocab.txt")
        with open(path, "w") as f:
            f.write("\n".join(vocab) + "\n")
        tok = BertTokenizerFast(vocab_file=path, do_lower_case=True, model_max_length=512)
        tok.save_pretrained(out_dir)
    return BertTokenizerFast.from_pretrained(out_dir)


def randomise(model, gen, scale):
    """Replace HF's std-0.02 init (which makes every sentence alike) by wider random weights."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(scale * torch.randn(p.shape, generator=gen))


def bert_config(vocab_size, hidden, layers, heads, inter):
    return BertConfig(
        vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers,
        num_attention_heads=heads, intermediate_size=inter, max_position_embeddings=512,
        type_vocab_size=2, hidden_act="gelu", layer_norm_eps=1e-12,
        hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
    )


def make_sbert(all_texts, gen):
    out = os.path.join(OUT, "sbert")
    shutil.rmtree(out, ignore_errors=True)
    words = [w for w in words_of(all_texts) if w not in SBERT_HOLDOUT]
    vocab = make_vocab(words, PUNCT_SBERT, ["鸟", "cafe", "musica"])
    tok = write_tokenizer(vocab, out)
    cfg = bert_config(len(vocab), 32, 2, 4, 64)
    model = BertModel(cfg, add_pooling_layer=True).eval()
    randomise(model, gen, 0.35)
    model.save_pretrained(out, safe_serialization=True)
    torch.save(model.state_dict(), os.path.join(out, "pytorch_model.bin"))
    with open(os.path.join(out, "modules.json"), "w") as f:
        json.dump([
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        ], f, indent=2)
    with open(os.path.join(out, "sentence_bert_config.json"), "w") as f:
        json.dump({"max_seq_length": 128, "do_lower_case": False}, f, indent=2)
    with open(os.path.join(out, "config_sentence_transformers.json"), "w") as f:
        import sentence_transformers
        import transformers
        json.dump({"__version__": {"sentence_transformers": sentence_transformers.__version__,
                                   "transformers": transformers.__version__,
                                   "pytorch": torch.__version__}}, f, indent=2)
    os.makedirs(os.path.join(out, "1_Pooling"))
    with open(os.path.join(out, "1_Pooling", "config.json"), "w") as f:
        json.dump({"word_embedding_dimension": 32, "pooling_mode_cls_token": False,
                   "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
                   "pooling_mode_mean_sqrt_len_tokens": False}, f, indent=2)
    return out, tok


def make_echecker(all_texts, cands, gen):
    root = os.path.join(OUT, "echecker")
    shutil.rmtree(root, ignore_errors=True)
    base = os.path.join(root, ECHECKER_TYPE)
    # A smaller vocabulary: the 60 first words only, the rest splits into pieces/letters.
    words = words_of(all_texts)[:60]
    vocab = make_vocab(words, PUNCT_ECHECKER, [])
    tok = write_tokenizer(vocab, base)
    cfg = bert_config(len(vocab), 48, 2, 4, 96)
    cfg.save_pretrained(base)
    clf = fer_mod.BERTFlatClassifier.__new__(fer_mod.BERTFlatClassifier)
    torch.nn.Module.__init__(clf)
    clf.model_type = ECHECKER_TYPE
    clf.num_classes = 6
    clf.encoder = BertModel(cfg, add_pooling_layer=True).eval()
    clf.dropout = torch.nn.Dropout(cfg.hidden_dropout_prob)
    clf.clf = torch.nn.Linear(cfg.hidden_size, 6)
    randomise(clf, gen, 0.35)
    clf.eval()

    # Shift the "error" bias: about half the candidates above the threshold, none near it.
    batch = _echecker_batch(tok, cands)
    with torch.no_grad():
        logits = clf(**batch)
    err = logits[:, 5].clone()
    target = float(np.log(THRESHOLD / (1 - THRESHOLD)))
    shift = target - float(err.median())
    for _ in range(200):
        z = err + shift
        close = (z - target).abs() < 0.25
        if not bool(close.any()):
            break
        shift += 0.05
    else:
        sys.exit("could not place the error logits away from the threshold")
    with torch.no_grad():
        clf.clf.bias[5] += shift

    state = clf.state_dict()
    # The published checkpoints were saved by transformers < 4.31, whose BertEmbeddings kept
    # position_ids in the state dict; aac-metrics pops it, so it must be there.
    state["encoder.embeddings.position_ids"] = torch.arange(512).unsqueeze(0)
    ckpt = os.path.join(root, f"{ECHECKER_NAME}.ckpt")
    torch.save({"model_type": ECHECKER_TYPE, "num_classes": 6, "state_dict": state}, ckpt)
    return ckpt, base, tok


def _echecker_batch(tok, sents):
    texts = [re.sub(r"[^\w\s]", "", x).lower() for x in sents]
    b = tok(texts, truncation=True, padding="max_length", max_length=64)
    return {k: torch.as_tensor(b[k], dtype=torch.long)
            for k in ("input_ids", "attention_mask", "token_type_ids")}


class _LocalAuto:
    """`fer.AutoModel` / `fer.AutoTokenizer` stand-ins: the model_type id -> the local dir."""

    def __init__(self, base, kind):
        self.base, self.kind = base, kind

    def from_pretrained(self, name, *args, **kwargs):
        if name != ECHECKER_TYPE:
            raise RuntimeError(f"unexpected model_type {name!r} (no network here)")
        if self.kind == "model":
            return AutoModel.from_config(AutoConfig.from_pretrained(self.base))
        return BertTokenizerFast.from_pretrained(self.base)


def to_list(x):
    if isinstance(x, torch.Tensor):
        return x.tolist()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return x


def dump_outs(outs):
    corpus, sents = outs
    return {"corpus": {k: float(v) for k, v in corpus.items()},
            "sentences": {k: to_list(v) for k, v in sents.items()}}


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(2025)
    os.makedirs(OUT, exist_ok=True)
    cands = [c for c, _ in CASES]
    refs = [r for _, r in CASES]
    all_texts = cands + [x for r in refs for x in r]

    sbert_dir, sbert_tok = make_sbert(all_texts, gen)
    ckpt, base, ech_tok = make_echecker(all_texts, cands, gen)

    data_home = tempfile.mkdtemp()
    shutil.copy(ckpt, os.path.join(data_home, f"{ECHECKER_NAME}.ckpt"))
    os.environ["FENSE_DATA"] = data_home
    fer_mod._PRETRAIN_ECHECKERS_DICT[ECHECKER_NAME] = ("file:///nonexistent", "unused")
    fer_mod.AutoModel = _LocalAuto(base, "model")
    fer_mod.AutoTokenizer = _LocalAuto(base, "tokenizer")

    common = dict(sbert_model=sbert_dir, echecker=ECHECKER_NAME, device="cpu", return_probs=True)
    fense32 = fense(cands, refs, batch_size=32, **common)
    fense4 = fense(cands, refs, batch_size=4, **common)

    # SPIDEr-FL with aac-metrics' CIDEr-D and fixed SPICE values (no Java / CoreNLP here).
    rng = random.Random(7)
    spice = torch.tensor([round(rng.uniform(0.0, 0.4), 6) for _ in cands], dtype=torch.float64)
    cider_corpus, cider_sents = cider_d(cands, refs, return_all_scores=True)

    def fixed_spider(candidates, mult_references, return_all_scores=True, **kwargs):
        c = cider_sents["cider_d"].to(torch.float64)
        s = (c + spice) / 2.0
        corpus = {"spider": s.mean(), "cider_d": c.mean(), "spice": spice.mean()}
        sents = {"spider": s, "cider_d": c, "spice": spice}
        return corpus, sents

    spider_fl_mod.spider = fixed_spider
    sfl = spider_fl(cands, refs, echecker=ECHECKER_NAME, device="cpu", batch_size=32)

    # Diagnostics: token ids, embeddings, logits.
    from sentence_transformers import SentenceTransformer
    st = SentenceTransformer(sbert_dir, device="cpu")
    emb = st.encode(cands, convert_to_tensor=True, normalize_embeddings=True, batch_size=32)
    sbert_ids = [sbert_tok(c, truncation=True, max_length=128)["input_ids"] for c in cands]
    st_ids = st.tokenize(cands)["input_ids"]
    for i, ids in enumerate(sbert_ids):
        got = [int(t) for t, m in zip(st_ids[i], st.tokenize(cands)["attention_mask"][i]) if m]
        assert got == ids, (cands[i], got, ids)
    ech, _ = fer_mod._load_echecker_and_tokenizer(echecker=ECHECKER_NAME, device="cpu")
    batch = _echecker_batch(ech_tok, cands)
    with torch.no_grad():
        logits = ech(**batch)
    ech_ids = [[int(t) for t, m in zip(row, mask) if m]
               for row, mask in zip(batch["input_ids"], batch["attention_mask"])]
    err = torch.sigmoid(logits[:, 5])
    margin = float((err - THRESHOLD).abs().min())
    n_err = int((err > THRESHOLD).sum())

    cases = {
        "versions": {"aac_metrics": "0.5.5", "sentence_transformers": "5.7.0",
                     "transformers": "4.57.6", "torch": torch.__version__,
                     "numpy": np.__version__},
        "candidates": cands,
        "references": refs,
        "error_threshold": THRESHOLD,
        "penalty": 0.9,
        "echecker_max_len": 64,
        "fense": dump_outs(fense32),
        "fense_batch4": dump_outs(fense4),
        "spider_fl": dump_outs(sfl),
        "diagnostics": {
            "sbert_input_ids": sbert_ids,
            "echecker_input_ids": ech_ids,
            "sbert_embeddings": emb.tolist(),
            "echecker_logits": logits.tolist(),
        },
    }
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1, ensure_ascii=False)
    shutil.rmtree(data_home)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {OUT}: {total / 1e6:.2f} MB; {n_err}/{len(cands)} candidates flagged, "
          f"closest error prob to the threshold {margin:.4f} away; "
          f"FENSE {float(fense32[0]['fense']):.6f}, SBERT {float(fense32[0]['sbert_sim']):.6f}, "
          f"SPIDEr-FL {float(sfl[0]['spider_fl']):.6f}")
    print("max sbert tokens", max(len(x) for x in sbert_ids), "max echecker tokens",
          max(len(x) for x in ech_ids))


if __name__ == "__main__":
    main()
