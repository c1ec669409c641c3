"""The language of a corpus, for stop words and lemmas, when the user does not name it.

``data.lang = "auto"`` (the default) looks at a sample of the training texts: the writing
system most of their letters belong to narrows the candidates (Han without kana is Chinese,
kana is Japanese, Cyrillic is one of five languages, ...), and among the candidates the one
whose spaCy stop words cover the largest share of the words wins. No model and no extra
package: the stop-word lists ship with spaCy. Char n-grams, which the search also tries, need
no language at all; this only decides the word stop-word lists and the spaCy tokenizer.
"""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from collections.abc import Sequence
from functools import cache
from pathlib import Path

AUTO = "auto"
UNKNOWN = "xx"  # spaCy's multi-language tokenizer: no stop words, no lemmas
SAMPLE_TEXTS = 2000
SAMPLE_CHARS = 1000  # of each sampled text
# Below this share of words that are stop words of the best candidate, the corpus is not in a
# language we can tell (codes, product names, numbers): multi-language it is.
MIN_STOP_SHARE = 0.05

# (first, last) code points of each writing system, and the spaCy languages written in it.
SCRIPTS: dict[str, tuple[list[tuple[int, int]], tuple[str, ...]]] = {
    "latin": (
        [(0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x24F), (0x1E00, 0x1EFF)],
        ("en", "de", "fr", "es", "it", "pt", "nl", "sv", "da", "nb", "fi", "pl", "cs", "sk", "sl",
         "hr", "ro", "hu", "tr", "id", "ca", "et", "lt", "lv", "af", "eu", "ga", "is", "lb", "sq",
         "tl", "vi", "az", "yo"),
    ),
    "cyrillic": ([(0x400, 0x52F)], ("ru", "uk", "bg", "sr", "mk", "ky", "tt")),
    "greek": ([(0x370, 0x3FF), (0x1F00, 0x1FFF)], ("el",)),
    "arabic": ([(0x600, 0x6FF), (0x750, 0x77F)], ("ar", "fa", "ur")),
    "hebrew": ([(0x590, 0x5FF)], ("he",)),
    "devanagari": ([(0x900, 0x97F)], ("hi", "mr", "ne", "sa")),
    "bengali": ([(0x980, 0x9FF)], ("bn",)),
    "tamil": ([(0xB80, 0xBFF)], ("ta",)),
    "telugu": ([(0xC00, 0xC7F)], ("te",)),
    "thai": ([(0xE00, 0xE7F)], ("th",)),
    "kana": ([(0x3040, 0x30FF)], ("ja",)),
    "han": ([(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF)], ("zh",)),
    "hangul": ([(0x1100, 0x11FF), (0xAC00, 0xD7AF)], ("ko",)),
}  # fmt: skip
# Japanese mixes Han characters with kana; this share of kana among both makes it Japanese.
KANA_SHARE = 0.1
WORD = re.compile(r"\w+")


def _script_of() -> dict[int, str]:
    """Code point -> script name, for every range above."""
    table = {}
    for name, (ranges, _) in SCRIPTS.items():
        for first, last in ranges:
            table.update(dict.fromkeys(range(first, last + 1), name))
    return table


_SCRIPT = _script_of()


@cache
def stop_words(lang: str) -> frozenset[str]:
    """spaCy's stop words for ``lang``, read from its list alone: importing the language's
    package (as ``import spacy.lang.fr.stop_words`` does) takes seconds for some, French among
    them, which build their tokenizer exceptions on import."""
    import spacy

    path = Path(spacy.__file__).parent / "lang" / lang / "stop_words.py"
    spec = importlib.util.spec_from_file_location(f"_textauto_stop_words_{lang}", path)
    try:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        words = module.STOP_WORDS
    except (OSError, ImportError, AttributeError):  # not a plain list here: ask spaCy
        from spacy.util import get_lang_class

        words = get_lang_class(lang).Defaults.stop_words
    return frozenset(w.lower() for w in words)


def sample(texts: Sequence[str]) -> list[str]:
    """Up to ``SAMPLE_TEXTS`` texts spread evenly over the corpus, each cut to ``SAMPLE_CHARS``."""
    step = max(len(texts) // SAMPLE_TEXTS, 1)
    return [str(t)[:SAMPLE_CHARS] for t in list(texts)[::step][:SAMPLE_TEXTS]]


def detect_language(texts: Sequence[str]) -> str:
    """The spaCy language code of ``texts``, or ``"xx"`` when it cannot be told."""
    texts = sample(texts)
    scripts = Counter(_SCRIPT.get(ord(ch)) for text in texts for ch in text)
    scripts.pop(None, None)
    if not scripts:
        return UNKNOWN
    script = scripts.most_common(1)[0][0]
    if script in ("han", "kana"):
        kana, han = scripts.get("kana", 0), scripts.get("han", 0)
        return "ja" if kana >= KANA_SHARE * (kana + han) else "zh"
    candidates = SCRIPTS[script][1]
    if len(candidates) == 1:
        return candidates[0]
    # one-letter words say little: "s" and "t" (from "it's", "don't") are stop words of several
    # languages whose lists hold every letter (Slovenian, Romanian)
    words = [w.lower() for text in texts for w in WORD.findall(text) if len(w) > 1]
    if not words:
        return UNKNOWN
    counts = Counter(words)
    share = {lang: _covered(counts, stop_words(lang)) / len(words) for lang in candidates}
    best = max(candidates, key=lambda lang: share[lang])  # ties: the order above (more speakers first)
    return best if share[best] >= MIN_STOP_SHARE else UNKNOWN


def _covered(counts: Counter[str], stop: frozenset[str]) -> int:
    """How many of the counted words are in ``stop`` (its list looked up once, not per word)."""
    return sum(n for w, n in counts.items() if w in stop)


@cache
def has_tokenizer(lang: str) -> bool:
    """Whether ``spacy.blank(lang)`` works here (Japanese, Korean, Thai and Vietnamese need
    packages of their own: sudachipy, mecab-ko, pythainlp, pyvi)."""
    import spacy

    try:
        spacy.blank(lang)
    except ImportError:
        return False
    return True


def resolve_language(lang: str, texts: Sequence[str]) -> tuple[str, str | None]:
    """(the language code to use, the detected language or None when the user named one).

    A detected language whose spaCy tokenizer needs a package that is not installed is
    replaced by ``"xx"``; its char n-grams are unaffected.
    """
    if lang != AUTO:
        return lang, None
    detected = detect_language(texts)
    return (detected if has_tokenizer(detected) else UNKNOWN), detected
