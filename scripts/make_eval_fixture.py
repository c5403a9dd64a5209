"""Golden fixtures for the eval crate: closed-set label likelihoods on the tiny Qwen2-Audio model,
and METEOR scores from pycocoevalcap's own Meteor (meteor-1.5.jar).

Run from the repository root, after scripts/make_model_fixtures.py:

    /work/venv-ref/bin/python scripts/make_eval_fixture.py

Writes tests/fixtures/eval/likelihood.json and tests/fixtures/eval/meteor.json (deterministic;
tests/fixtures/eval/README.md describes both and is left alone).

Label likelihood (the convention `eval classify` uses, the training-example convention of
tests/fixtures/train/README.md without the final newline):
    templated = processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
    full      = templated + label + "<|im_end|>"
    score     = sum over the answer tokens (ids after the templated prompt's P ids) of
                log_softmax(logits[t - 1])[ids[t]]
The model is tests/fixtures/tiny/model in f32, eager attention, eval mode; one full forward per
(case, label), no KV cache, so the Rust side's cached and batched computation is checked against
the plainest reference.

METEOR: pycocoevalcap.meteor.Meteor (java -jar meteor-1.5.jar - - -stdio -l en -norm) on
captions tokenised by pycocoevalcap's PTBTokenizer, exactly as COCOEvalCap.evaluate() feeds it.
"""

import json
import os

import soundfile as sf
import torch
import transformers
from transformers import Qwen2AudioForConditionalGeneration, Qwen2AudioProcessor

from pycocoevalcap.meteor.meteor import Meteor
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

TINY = os.path.join("tests", "fixtures", "tiny")
MODEL_DIR = os.path.join(TINY, "model")
CLIP_DIR = os.path.join(TINY, "clips")
OUT = os.path.join("tests", "fixtures", "eval")
SR = 16000

VSC = ["laughter", "sigh", "cough", "throat clearing", "sneeze", "sniff"]
MGC = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"]
MIC = ["bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string", "synth_lead", "vocal"]


def listing(labels):
    return ", ".join(labels)


# The built-in prompts of crates/data/src/classify (the Rust test checks they are the same).
CASES = [
    {
        "name": "vsc_speech",
        "task": "vsc",
        "clips": ["speech.wav"],
        "system": None,
        "prompt": f"What vocal sound is in the audio? Answer with one of: {listing(VSC)}.",
        "labels": VSC,
    },
    {
        "name": "mgc_tone",
        "task": "mgc",
        "clips": ["tone.wav"],
        "system": None,
        "prompt": f"What is the genre of the music? Answer with one of: {listing(MGC)}.",
        "labels": MGC,
    },
    {
        "name": "mic_pluck_system",
        "task": "mic",
        "clips": ["noise_pluck.wav"],
        "system": "You are a careful listener.",
        "prompt": f"Which instrument family is playing in the audio? Answer with one of: {listing(MIC)}.",
        "labels": MIC,
    },
    {
        "name": "custom_pair",
        "task": "same",
        "clips": ["speech.wav", "tone.wav"],
        "system": None,
        "prompt": "Do the two audios contain the same kind of sound? Answer with one of: yes, no.",
        "labels": ["yes", "no"],
    },
]

# Raw captions (as a model or an annotator writes them) for the METEOR fixture.
METEOR_CLIPS = [
    ("A man is speaking while a car engine idles.",
     ["A man talks as an engine idles in the background.", "An engine is idling while a man speaks.", "A man speaks over a running engine"]),
    ("birds chirp in the distance",
     ["Birds are chirping and singing in the distance.", "Several birds chirp while wind blows.", "birds tweet far away"]),
    ("Water flows from a faucet, then stops!",
     ["Water runs from a tap and then stops.", "A faucet runs water before being turned off."]),
    ("a dog barks",
     ["A dog barks repeatedly while people talk.", "Dogs bark and a person speaks.", "A dog is barking loudly", "Barking from a dog"]),
    ("Music plays; a crowd cheers and claps.",
     ["A crowd applauds and cheers as music plays.", "People cheer and clap to music."]),
    ("thunder",
     ["Thunder rumbles as rain falls.", "Rain pours and thunder roars in the distance."]),
    # nothing left after tokenisation: METEOR scores an empty hypothesis 0
    ("...",
     ["A bell rings twice.", "A church bell tolls."]),
]


def conversation(case):
    msgs = []
    if case["system"] is not None:
        msgs.append({"role": "system", "content": case["system"]})
    content = [{"type": "audio", "audio_url": c} for c in case["clips"]]
    content.append({"type": "text", "text": case["prompt"]})
    msgs.append({"role": "user", "content": content})
    return msgs


def likelihood_case(processor, model, case):
    tok = processor.tokenizer
    audio = [sf.read(os.path.join(CLIP_DIR, c), dtype="float32")[0] for c in case["clips"]]
    templated = processor.apply_chat_template(conversation(case), add_generation_prompt=True, tokenize=False)
    prompt_ids = processor(text=templated, audio=audio, sampling_rate=SR, return_tensors="pt")["input_ids"][0]
    P = prompt_ids.shape[0]
    labels = []
    for label in case["labels"]:
        full = templated + label + "<|im_end|>"
        inputs = processor(text=full, audio=audio, sampling_rate=SR, return_tensors="pt")
        ids = inputs["input_ids"][0]
        assert torch.equal(ids[:P], prompt_ids), "prompt ids are not a prefix"
        answer = ids[P:]
        assert answer.tolist() == tok(label + "<|im_end|>", add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logits = model(**inputs).logits[0].float()
        logp = torch.log_softmax(logits, dim=-1)
        token_lp = [float(logp[t - 1, ids[t]]) for t in range(P, ids.shape[0])]
        s = float(sum(token_lp))
        labels.append({
            "label": label,
            "answer_ids": answer.tolist(),
            "token_logprobs": token_lp,
            "sum": s,
            "mean": s / len(token_lp),
        })
    by_sum = max(range(len(labels)), key=lambda i: (labels[i]["sum"], -i))
    by_mean = max(range(len(labels)), key=lambda i: (labels[i]["mean"], -i))
    return {
        **case,
        "templated": templated,
        "prompt_ids": prompt_ids.tolist(),
        "scores": labels,
        "best_by_sum": case["labels"][by_sum],
        "best_by_mean": case["labels"][by_mean],
    }


def meteor_fixture():
    gts = {i: [{"caption": r} for r in refs] for i, (_, refs) in enumerate(METEOR_CLIPS)}
    res = {i: [{"caption": p}] for i, (p, _) in enumerate(METEOR_CLIPS)}
    tok = PTBTokenizer()
    gts_t = tok.tokenize(gts)
    res_t = tok.tokenize(res)
    scorer = Meteor()
    corpus, per_clip = scorer.compute_score(gts_t, res_t)
    return {
        "predictions": [p for p, _ in METEOR_CLIPS],
        "references": [refs for _, refs in METEOR_CLIPS],
        "predictions_tokenized": [res_t[i][0] for i in range(len(METEOR_CLIPS))],
        "references_tokenized": [gts_t[i] for i in range(len(METEOR_CLIPS))],
        "corpus": float(corpus),
        "per_clip": [float(x) for x in per_clip],
        "command": "java -jar -Xmx2G meteor-1.5.jar - - -stdio -l en -norm (cwd: the jar's directory)",
    }


def main():
    torch.set_num_threads(2)
    os.makedirs(OUT, exist_ok=True)
    processor = Qwen2AudioProcessor.from_pretrained(MODEL_DIR)
    model = Qwen2AudioForConditionalGeneration.from_pretrained(MODEL_DIR, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    cases = [likelihood_case(processor, model, c) for c in CASES]
    with open(os.path.join(OUT, "likelihood.json"), "w") as f:
        json.dump({"transformers": transformers.__version__, "torch": torch.__version__, "model": MODEL_DIR, "cases": cases}, f, indent=1)
        f.write("\n")
    for c in cases:
        print(c["name"], "P =", len(c["prompt_ids"]), "best by sum:", c["best_by_sum"], "by mean:", c["best_by_mean"],
              "sums:", [round(s["sum"], 4) for s in c["scores"]])
    met = meteor_fixture()
    with open(os.path.join(OUT, "meteor.json"), "w") as f:
        json.dump(met, f, indent=1)
        f.write("\n")
    print("METEOR corpus", met["corpus"], "per clip", met["per_clip"])


if __name__ == "__main__":
    main()
