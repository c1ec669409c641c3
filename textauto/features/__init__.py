"""Text featurizers and the registry of text representations the search chooses from."""

from textauto.features.spacy_tokens import SPACY, SpacyTokens
from textauto.features.tfidf import CHAR, WORD

FEATURIZERS = {c.name: c for c in (WORD, CHAR, SPACY)}

# A representation is one featurizer or the union of several (their columns side by side).
REPRESENTATIONS: dict[str, tuple[str, ...]] = {
    "word": ("word",),
    "char": ("char",),
    "word+char": ("word", "char"),
    "spacy": ("spacy",),
    "spacy+char": ("spacy", "char"),
}

__all__ = ["FEATURIZERS", "REPRESENTATIONS", "SpacyTokens"]
