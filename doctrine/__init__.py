"""Doctrine corpus and retrieval: authored passages, users' own doctrine, and BM25 search.

Typical use::

    from doctrine import default_index
    hits = default_index().search("force ratio to attack a prepared defense", k=5)
"""

from doctrine._corpus import load_corpus
from doctrine._passage import DOMAINS, ECHELONS, TOPICS, IngestWarning, Passage
from doctrine._retrieval import DoctrineIndex, Hit, default_index

__all__ = [
    "DOMAINS",
    "ECHELONS",
    "TOPICS",
    "DoctrineIndex",
    "Hit",
    "IngestWarning",
    "Passage",
    "default_index",
    "load_corpus",
]
