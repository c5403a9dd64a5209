"""Generate golden caption-metric fixtures from pycocoevalcap 1.2 (the reference env).

Run from the repository root:

    /work/venv-ref/bin/python scripts/make_metric_fixtures.py

Needs pycocoevalcap 1.2 (its PTBTokenizer runs the stanford-corenlp-3.4.1 jar bundled in the
wheel, so `java` must be on PATH). Deterministic (fixed seeds, no clock); everything under
tests/fixtures/metrics/ is overwritten in place:

- captions.json      corpora of raw predictions/references (1-5 refs per clip) with what
                     pycocoevalcap makes of them: tokenised strings (PTBTokenizer), corpus and
                     per-clip BLEU-1..4, ROUGE-L, CIDEr-D (`Bleu(4)`, `Rouge()`, `Cider()`).
- tokenizer.json     tricky strings, each with the raw output of
                     `java ... PTBTokenizer -preserveLines -lowerCase` on it alone ("java") and
                     pycocoevalcap's tokenisation of it as a single caption ("pycoco"), plus
                     "batch": pycocoevalcap's tokenisation of all strings in one call.
- char_classes.json  the lexer's [:letter:] and [:digit:] sets over the BMP, measured on the
                     jar: `x-<c>x` is one token iff <c> is a letter or digit (THING rule), `.<c>`
                     iff <c> is a digit (NUMBER rule). '@' (EMAIL) and U+00AD (soft hyphen,
                     HTHING) pass the first probe through other rules and are removed. Also
                     "java_lowercase": [code, lower] for every BMP character that this JVM's
                     `toLowerCase` (inside a `http://a<c>a` token) changes.
"""

import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.rouge.rouge import Rouge
from pycocoevalcap.tokenizer import ptbtokenizer
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "metrics")
JAR = os.path.join(os.path.dirname(ptbtokenizer.__file__), ptbtokenizer.STANFORD_CORENLP_3_4_1_JAR)
JAVA_CMD = ["java", "-cp", JAR, "edu.stanford.nlp.process.PTBTokenizer", "-preserveLines", "-lowerCase"]
NEWLINES = {0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0x2028, 0x2029}


def java_tokenize(text):
    """Raw stdout of the Java tokenizer on `text` (UTF-8 file, as pycocoevalcap writes it)."""
    with tempfile.NamedTemporaryFile(delete=False, suffix=".txt") as f:
        f.write(text.encode())
        path = f.name
    try:
        out = subprocess.run(JAVA_CMD + [path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)
    finally:
        os.remove(path)
    return out.stdout.decode()


@contextlib.contextmanager
def java_stderr_silenced():
    """pycocoevalcap lets Java print its progress line to our stderr; hide it (fd level)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def pycoco_tokenize(captions):
    """pycocoevalcap's PTBTokenizer on a list of captions tokenised in one call."""
    tok = PTBTokenizer().tokenize({i: [{"caption": c}] for i, c in enumerate(captions)})
    return [tok[i][0] for i in range(len(captions))]


def ranges(codes):
    out = []
    for c in codes:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def char_classes():
    chars = [c for c in range(1, 0x10000) if not 0xD800 <= c <= 0xDFFF and c not in NEWLINES]
    a = java_tokenize("\n".join("x-" + chr(c) + "x" for c in chars)).split("\n")
    b = java_tokenize("\n".join("." + chr(c) for c in chars)).split("\n")
    # Java's toLowerCase of each character, seen inside a URL token (which takes almost any
    # character): only the characters it changes are kept.
    url = java_tokenize("\n".join("http://a" + chr(c) + "a" for c in chars)).split("\n")
    assert len(a) == len(b) == len(url) == len(chars)
    letter_or_digit = {c for c, o in zip(chars, a) if " " not in o}
    digit = sorted(c for c, o in zip(chars, b) if " " not in o and o != ".")
    letter = sorted(letter_or_digit - set(digit) - {0x40, 0xAD})
    lower = []
    for c, o in zip(chars, url):
        if o.startswith("http://a") and o.endswith("a") and " " not in o and o[8:-1] != chr(c):
            lower.append([c, o[8:-1]])
    return {"letter": ranges(letter), "digit": ranges(digit), "java_lowercase": lower}


# ----------------------------------------------------------------------------------------
# Tokenizer strings
# ----------------------------------------------------------------------------------------

FIXED_STRINGS = [
    "A dog barks.", "don't", "Don't stop", "I can't, won't, shouldn't.", "it's the dog's bone",
    "the dogs' bones", "they're we've I'd you'll she'd", "y'all", "o'clock", "rock 'n' roll",
    "'twas the night", "'tis true", "cannot", "CANNOT", "gonna wanna gotta lemme gimme",
    "ol' man", "li'l bird", "c'mon", "e'er", "ev'ry", "nat'l", "Dunkin' donuts", "somethin' else",
    "'90s music", "the '60s", "'cause", "'til dawn", "cont'd.", "nor'easter", "s'mores", "O'Neil",
    "d'Artagnan", "l'homme", "j'ai", "high-pitched", "well - known", "a--b", "a---b", "a----b",
    "a-----b", "pre-", "anti-war", "pro-life", "e-mail", "x-ray x_ray", "co-ed", "A-B-C-D",
    "3,000", "3,000.50", "1.5", "-3.2", "+4", ".5", "1,2,3", "10:30", "10:30pm", "1/2", "3 1/2",
    "1\\/2", "½ cup", "¼ ¾ ⅓ ⅔ ⅛", "2nd 3rd 4th", "1990s", "50%", "$5", "US$5", "€10", "£3", "¢",
    "¥100", "#1", "12/25/2019", "2019-12-25", "1-2-2019", "(555) 123-4567", "555-123-4567",
    "+1 555 123 4567", "123.456.7890", "\"quoted\"", "\"Hello,\" he said.", "''double''",
    "``latex''", "`single'", "'single'", "\u201ccurly\u201d", "\u2018curly\u2019",
    "it\u2019s", "don\u2019t", "\u00abguillemets\u00bb", "\u201elow\u201c", "\u2039a\u203a",
    "(parens)", "[brackets]", "{braces}", "<angle>", "a < b > c", "&lt;tag&gt;", "<b>bold</b>",
    "<!-- comment -->", "<a href='x'>", "...", "wait...", "wait . . . what", "so\u2026", "..",
    "....", "......", "a/b", "and/or", "km/h", "w/o", "A&B", "AT&T", "at&t", "S&P", "S&P-500",
    "Q&A", "R&D", "AT&amp;T", "&amp;", "&quot;x&quot;", "&apos;s", "&nbsp;x", "&mdash;", "caf&eacute;",
    "caf\u00e9", "na\u00efve", "\u00fcber", "Stra\u00dfe", "\u0130stanbul", "\u03a3\u039f\u03a3",
    "\u041c\u043e\u0441\u043a\u0432\u0430", "\u6771\u4eac\u3067\u3059\u3002", "\u4f60\u597d\uff0c\u4e16\u754c",
    "\uc548\ub155", "\u0645\u0631\u062d\u0628\u0627", "\u05e9\u05dc\u05d5\u05dd", "\u0928\u092e\u0938\u094d\u0924\u0947",
    "e\u0301", "dog \U0001F415 barks", "\U0001F600\U0001F600", "zero\u200bwidth", "soft\u00adhyphen",
    "\u00ad", "nb\u00a0sp", "tab\there", "a\u3000b", "en\u2013dash", "em\u2014dash", "a \u2015 b",
    "minus \u2212 sign", "\u2010hyphen\u2011", "\u00b0C 20\u00b0", "x\u00b2 H\u2082O", "\u00a9 \u00ae \u2122",
    "U.S.", "U.S. The", "the U.S. army", "I. The", "I.", "A. Smith", "etc.", "etc. The", "etc..",
    "Mr. Smith", "Dr. Who", "Mrs. Jones", "vs. them", "a.m. p.m.", "e.g. i.e.", "Inc. Corp. Ltd.",
    "Jan. 5", "fig. 3", "No. 5", "no. 5", "ca. 1900", "pty. ltd", "Co. ltd", "Ph.D.", "Jr.", "St. Louis",
    "www.example.com", "http://example.com/path?x=1.", "https://a.b/c,d", "example.org", "foo.edu/x",
    "user@example.com", "<user@example.com>", "@user", "#hashtag", "c++ c# f#", "file.txt", "a.mp3,",
    "report.docx.", ":)", ":-(", ";)", ":D", "=P", "<3", ":-)", "^_^", "(^_^)", "o_O", "-_-",
    "*", "**", "***", "\\*", "@@@", "___", "###", "=", "!!", "?!", "\u00bfque?", "\u00a1hola!",
    "one; two: three", "a,b", "a, b", "a ,b", "x\u3001y", "a\u3002", "\x7f", "\x00null", "\x01\x02ctrl",
    "\u0085next", "a\u2028b", "a\u2029b", "a\rb", "a\r\nb", "a\x0bb", "a\x0cb", "line\nbreak",
    "", " ", "   ", ".", ",", "-", "--", "'", "''", "``", "`", "-LRB-", "-lrb-", "(", ")",
    "Birds chirp; a car passes (far away)!", "A man says \"hello\" & leaves.",
    "THE DOG BARKS LOUDLY!!!", "the the the the", "beep-beep beep", "1 2 3 4 5", "a1b2 c3-d4",
    "B-52s", "MP3s", "4x4", "3D", "covid-19", "COVID-19", "mid-90s", "'n", "n't", "'s", "'ll",
    "I'm I'M", "DON'T", "Y'ALL", "can'tstop", "don'tcha", "hasn't", "ain't", "dogs's", "it's.",
    "what's up?", "\"it's\"", "'hello'", "'Hello world'", "he said 'no'", "x'y", "'x", "x'",
    "rock'n'roll", "Let's go", "let's", "OK.", "ok.", "A.B.C.", "a.b.c", "U.K.-based",
    "Sino-U.S. talks", "non-U.S.", "1.2.3", "1..2", "v1.2.3", "10.5kg", "5kg", "5 kg", "3pm",
    "9/11", "24/7", "7/24/99", "1/2/3/4", "and/or/not", "n/a", "A/C", "50/50", "http://x.y",
    "I.B.M. The", "U.S.A.", "U.S.A. He", "e.g. The", "Mass. Ave.", "Calif. The", "ill. The",
    "mon. tue.", "Sept. 5", "Tues.", "est. 1990", "tel. 555", "sq. ft.", "Bros. The", "Blvd.",
    "Ed.D. Ph.D", "al. et", "et al.", "seq.", "Bldg.", "bldg. 5", "art. 5", "pp. 5", "op. 5",
    "figs. 5", "nos. 5", "prop. 5", "Prop.", "Cos. The", "Pty. Ltd.", "pte. ltd", "co. lim",
    # %caseless literals also match U+0130, U+0131 (i), the Kelvin sign (k), long s (s)
    "'t\u0130s x", "\u0131nc. the", "\u212aans. The", "\u017feq. The", "http\u017f://x.com",
    # Java's final sigma (word boundaries of java.text.BreakIterator) and Unicode 13 casing
    "x3\u03a34", "\u03a3\u039f\u03a31990s", "B-\u4e00-\u03a3", "\u03c2\u0301.\u03a3", "a_\u03a3",
    "http://a\ua7d2b",
]

POOL = [
    "dog", "Dog", "DOG", "a", "A", "the", "The", "barks", "barking", "loudly", "car", "cars", "rain",
    "don't", "it's", "dog's", "dogs'", "can't", "we're", "I'm", "y'all", "o'clock", "'s", "n't",
    "high-pitched", "well-known", "-", "--", "---", "...", ".", ",", ";", ":", "!", "?", "!!", "?!",
    "(", ")", "[", "]", "{", "}", "\"", "'", "`", "``", "''", "\u201c", "\u201d", "\u2018", "\u2019",
    "3", "3,000", "1.5", "10:30", "1/2", "50%", "$5", "#1", "2019", "1990s", "2nd", "&", "AT&T",
    "a/b", "and/or", "U.S.", "Mr.", "etc.", "e.g.", "I.", "Inc.", "www.x.com", "a@b.com", ":)",
    "caf\u00e9", "\u00fcber", "\u2013", "\u2014", "\u2026", "\u00a0", "\t", "  ", "<b>", "</b>",
    "\U0001F600", "\u00bd", "\u20ac", "x", "I", "He", "The", "About", "gonna", "cannot", "'90s",
]
SEPS = [" ", " ", " ", "", "  ", "\t"]


def tokenizer_strings(rng, n_random):
    strings = list(FIXED_STRINGS)
    for _ in range(n_random):
        k = rng.randint(2, 9)
        s = "".join(rng.choice(POOL) + rng.choice(SEPS) for _ in range(k))
        strings.append(s.strip(" ") if rng.random() < 0.7 else s)
    return strings


def tokenizer_fixture(rng):
    strings = tokenizer_strings(rng, 300)
    with java_stderr_silenced(), ThreadPoolExecutor(max_workers=os.cpu_count() or 4) as pool:
        java = list(pool.map(java_tokenize, strings))
        pycoco = list(pool.map(lambda s: pycoco_tokenize([s])[0], strings))
        batch = pycoco_tokenize(strings)
    cases = [{"input": s, "java": j, "pycoco": p} for s, j, p in zip(strings, java, pycoco)]
    return {"cases": cases, "batch": batch}


# ----------------------------------------------------------------------------------------
# Caption corpora
# ----------------------------------------------------------------------------------------

SUBJECTS = ["a dog", "a man", "birds", "a woman", "a car", "the wind", "rain", "a child", "people",
            "an engine", "water", "a bell", "a crowd", "thunder", "a cat", "a train", "footsteps"]
VERBS = ["barks", "is speaking", "chirp", "laughs", "passes by", "blows", "falls", "cries", "talk",
         "hums", "flows", "rings", "cheers", "rumbles", "meows", "approaches", "echo"]
TAILS = ["loudly", "in the distance", "on a tin roof", "while music plays", "nearby", "repeatedly",
         "in the background", "outside", "over and over", "for a while", "and then stops",
         "as a door slams", "while birds chirp", "near a busy road", "quietly", ""]
EXTRAS = ["don't", "it's", "high-pitched", "3,000", "1.5", "two", "10:30", "50%", "(far away)",
          "\"hello\"", "etc.", "U.S.", "dog's", "can't", "well-known", "...", "--", "A&B", "1/2",
          "caf\u00e9", "x-ray", "o'clock", "they're", "\u2014", "a/b", "'90s", "beep beep beep"]


def sentence(rng):
    words = [rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(TAILS)]
    if rng.random() < 0.5:
        words.insert(rng.randint(0, 3), rng.choice(EXTRAS))
    if rng.random() < 0.3:
        words += ["and", rng.choice(SUBJECTS), rng.choice(VERBS)]
    s = " ".join(w for w in words if w)
    style = rng.random()
    if style < 0.5:
        s = s[0].upper() + s[1:]
    elif style < 0.6:
        s = s.upper()
    elif style < 0.7:
        s = s.title()
    if rng.random() < 0.3:
        s = s.replace(" ", ", ", 1)
    return s + rng.choice(["", ".", ".", "!", "?", "...", " .", ";"])


def variant(rng, s):
    """A hypothesis derived from a reference: dropped, repeated or swapped words."""
    words = s.split()
    op = rng.random()
    if op < 0.3 and len(words) > 2:
        del words[rng.randrange(len(words))]
    elif op < 0.5:
        i = rng.randrange(len(words))
        words.insert(i, words[i])
    elif op < 0.7:
        words[rng.randrange(len(words))] = rng.choice(VERBS)
    return " ".join(words)


def clip(rng, kind):
    n_refs = rng.randint(1, 5)
    refs = [sentence(rng) for _ in range(n_refs)]
    if kind == "identical":
        return refs[0], refs
    if kind == "variant":
        return variant(rng, rng.choice(refs)), refs
    if kind == "no_overlap":
        return rng.choice(["Xylophone zither quokka", "zzz", "Quantum flux capacitor hums"]), refs
    if kind == "one_word":
        return rng.choice(["Dog", "rain.", "Birds", "a", "Music!", "engine"]), refs
    if kind == "long":
        return " ".join(sentence(rng) for _ in range(rng.randint(5, 9))), refs
    if kind == "repeated":
        w = rng.choice(["beep", "dog", "the", "knock"])
        return " ".join([w] * rng.randint(2, 12)), refs
    if kind == "empty":
        return rng.choice(["", "...", " ", "!!"]), refs
    return sentence(rng), refs


KINDS = ["random"] * 6 + ["identical", "variant", "variant", "no_overlap", "one_word", "long", "repeated"]


def score(preds, refs):
    gts = {i: [{"caption": r} for r in rs] for i, rs in enumerate(refs)}
    res = {i: [{"caption": p}] for i, p in enumerate(preds)}
    tok = PTBTokenizer()
    with java_stderr_silenced():
        gts_t, res_t = tok.tokenize(gts), tok.tokenize(res)
    bleu, bleu_clips = Bleu(4).compute_score(gts_t, res_t, verbose=0)
    rouge, rouge_clips = Rouge().compute_score(gts_t, res_t)
    cider, cider_clips = Cider().compute_score(gts_t, res_t)
    n = len(preds)
    return {
        "predictions": preds,
        "references": refs,
        "predictions_tokenized": [res_t[i][0] for i in range(n)],
        "references_tokenized": [gts_t[i] for i in range(n)],
        "corpus": {"bleu": [float(b) for b in bleu], "rouge_l": float(rouge), "cider_d": float(cider)},
        "per_clip": {
            "bleu": [[float(bleu_clips[k][i]) for k in range(4)] for i in range(n)],
            "rouge_l": [float(x) for x in rouge_clips],
            "cider_d": [float(x) for x in cider_clips],
        },
    }


def corpora(rng):
    main = [clip(rng, rng.choice(KINDS)) for _ in range(300)]
    edge = [clip(rng, kind) for kind in ["empty", "identical", "one_word", "no_overlap"] * 3]
    small = [clip(rng, "random") for _ in range(2)]
    shifted = [clip(rng, "random") for _ in range(6)]
    shifted[2] = ("A dog\rbarks", shifted[2][1])  # '\r' breaks the line: later captions shift
    out = {}
    for name, clips in [("main", main), ("edge", edge), ("two_clips", small), ("line_shift", shifted)]:
        out[name] = score([p for p, _ in clips], [r for _, r in clips])
    one = clip(rng, "variant")
    out["one_clip"] = score([one[0]], [one[1]])
    return out


def dump(name, obj):
    path = os.path.join(OUT, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"{path}: {os.path.getsize(path)} bytes", file=sys.stderr)


def main():
    os.makedirs(OUT, exist_ok=True)
    dump("char_classes.json", char_classes())
    dump("tokenizer.json", tokenizer_fixture(random.Random(1234)))
    dump("captions.json", corpora(random.Random(5678)))


if __name__ == "__main__":
    main()
