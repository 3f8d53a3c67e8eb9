"""Doctrine corpus and retrieval: authored passages, users' own doctrine, hybrid search.

Search is hybrid by default (BM25 and dense embeddings fused by reciprocal rank); ``mode="bm25"``
or ``mode="dense"`` picks one retriever. Typical use::

    from doctrine import default_index
    hits = default_index().search("how many of ours do we need to take a dug-in position", k=5)
"""

from doctrine._corpus import load_corpus
from doctrine._passage import DOMAINS, ECHELONS, TOPICS, IngestWarning, Passage
from doctrine._retrieval import (
    SEARCH_MODES,
    DoctrineIndex,
    Hit,
    RetrievalWarning,
    default_index,
)

__all__ = [
    "DOMAINS",
    "ECHELONS",
    "SEARCH_MODES",
    "TOPICS",
    "DoctrineIndex",
    "Hit",
    "IngestWarning",
    "Passage",
    "RetrievalWarning",
    "default_index",
    "load_corpus",
]
