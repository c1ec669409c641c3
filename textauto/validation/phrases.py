"""Phrase-level data: training texts that occur inside other training texts.

SST-style sets hold every sentence beside the phrases parsed out of it. Split at random, a
validation phrase's sentence sits in the training fold, and a model that memorizes long n-grams
looks best on validation while it generalizes worse to new sentences. Grouping each phrase with
the longest text containing it keeps a sentence and its phrases on one side; validation still
scores every held-out phrase, not only the sentences (docs/design.md, "Validation of phrase
data").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

SAMPLE = 200  # texts checked for containment in the others
# share of the sample inside another text that makes the data phrase-level (SST-style sets:
# over 0.9; sentence and document sets: under 0.05)
PHRASE_SHARE = 0.25
MAX_CHARS = 16_000_000  # larger corpora are not searched (documents, not phrases)
MAX_WORK = 50_000_000  # token windows looked up while grouping (10x what sst2 needs)


def _normalized(texts: Sequence[str]) -> list[str] | None:
    """``texts`` lower-cased with white space collapsed; None when empty or over ``MAX_CHARS``."""
    if not len(texts) or sum(map(len, texts)) > MAX_CHARS:
        return None
    return [" ".join(t.lower().split()) for t in texts]


def phrase_share(texts: Sequence[str], seed: int = 0) -> float:
    """Share of a random sample of ``texts`` that occur, as whole words, inside another text
    (case and white space aside); 0.0 for a corpus over ``MAX_CHARS``."""
    normal = _normalized(texts)
    return 0.0 if normal is None else _share(normal, seed)


def _share(normal: list[str], seed: int) -> float:
    corpus = "\n " + " \n ".join(normal) + " \n"
    copies = Counter(normal)
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(normal), size=min(SAMPLE, len(normal)), replace=False)
    inside = sum(corpus.count(f" {normal[i]} ") > copies[normal[i]] for i in picked if normal[i])
    return inside / len(picked)


def phrase_groups(texts: Sequence[str], seed: int = 0) -> np.ndarray | None:
    """A group id per text: each text joins the longest text whose words contain its words.

    None when the data is not phrase-level (``phrase_share`` below ``PHRASE_SHARE``) or too
    large to group (``MAX_WORK`` token windows).
    """
    normal = _normalized(texts)  # once, for the share and the grouping
    if normal is None or _share(normal, seed) < PHRASE_SHARE:
        return None
    rows: dict[tuple[str, ...], list[int]] = {}
    for i, words in enumerate(tuple(t.split()) for t in normal):
        rows.setdefault(words, []).append(i)
    lengths = sorted({len(words) for words in rows} - {0})
    # every distinct text a root, each window length it could contain: the work's upper bound
    sizes = [len(words) for words in rows]
    if int(np.dot(sizes, np.searchsorted(lengths, sizes))) > MAX_WORK:
        return None
    group = np.full(len(texts), -1, dtype=np.int64)
    n_groups = 0
    for words in sorted(rows, key=len, reverse=True):
        if group[rows[words][0]] >= 0:
            continue  # inside a longer text already grouped
        group[rows[words]] = n_groups
        for k in lengths:
            if k >= len(words):
                break
            for start in range(len(words) - k + 1):
                inner = rows.get(words[start : start + k])
                if inner is not None and group[inner[0]] < 0:
                    group[inner] = n_groups
        n_groups += 1
    return group
