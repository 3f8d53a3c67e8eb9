"""Hybrid doctrine retrieval: BM25 plus dense embeddings, fused by reciprocal rank, cached on disk.

Lexical: a bm25s index (PyStemmer's English Snowball stemmer, bm25s's English stopwords plus
common question words, British spellings folded to American) over each passage's title, keywords
and body. Dense: the same text embedded by all-MiniLM-L6-v2 (``doctrine._dense``); a query is
scored by cosine similarity. Hybrid (the default): reciprocal-rank fusion of the two rankings,
``sum(weight / (RRF_K + rank))`` (Cormack, Clarke & Buettcher 2009), with ``RRF_K`` and
``DENSE_WEIGHT`` chosen on the development queries (``bench/bench_retrieval.py --tune``).

Both indexes are saved under ``<cache root>/<sha256 of the corpus>/``, where the cache root is
``$OODA_FORGE_CACHE/doctrine`` if that variable is set, else ``~/.cache/ooda-forge/doctrine``; a
later build over the same corpus loads them instead of indexing. If the embedding model cannot be
loaded, retrieval falls back to BM25 with one ``RetrievalWarning`` per process.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import bm25s
import numpy as np
import Stemmer

from doctrine._corpus import load_corpus
from doctrine._dense import (
    DenseUnavailable,
    Encoder,
    embedding_file,
    load_embeddings,
    load_encoder,
    save_embeddings,
)
from doctrine._passage import DOMAINS, ECHELONS, TOPICS, Passage

SearchMode = Literal["hybrid", "bm25", "dense"]
SEARCH_MODES: tuple[str, ...] = ("hybrid", "bm25", "dense")
# Reciprocal-rank fusion settings, chosen by `bench/bench_retrieval.py --tune` on the 142 original
# queries and the paraphrase set's `dev` split (never its `eval` split): the best dev recall@5
# among settings that keep recall@5 on the original queries at or above BM25's (re-tuned when
# passages were cut at 112 word pieces instead of 128).
RRF_K = 5
DENSE_WEIGHT = 0.75

# Bump when tokenisation or index parameters change: it is part of the cache key.
INDEX_VERSION = "3"
_TOKEN_PATTERN = r"(?u)\b\d+(?:\.\d+)?:\d+(?:\.\d+)?\b|\b\w\w+\b"
_META_FILE = "ooda_meta.json"
# bm25s's English list (33 Lucene stopwords) plus the question and filler words planners type
# ("how do we ...", "what should I ..."), which would otherwise match any passage that uses them.
_EXTRA_STOPWORDS = (  # noqa: SIM905 - a word list reads better as text
    "about after again all also am any been before being can could did do does doing done "
    "down each from get gets got had has have having he her here him his how i its just "
    "many may me might more most much my our ours out over own same she should so some "
    "than those up us very we were what whats when where which while who whom whose why "
    "would you your"
).split()
STOPWORDS = tuple(sorted(set(bm25s.stopwords.STOPWORDS_EN) | set(_EXTRA_STOPWORDS)))


# British spellings folded to American ones before stemming, so that "defence" finds "defense".
_SPELLING = {
    "aeroplane": "airplane",
    "analyse": "analyze",
    "analysed": "analyzed",
    "analysing": "analyzing",
    "catalogue": "catalog",
    "defence": "defense",
    "defences": "defenses",
    "grey": "gray",
    "offence": "offense",
    "offences": "offenses",
    "plough": "plow",
    "ploughs": "plows",
    "practise": "practice",
    "practised": "practiced",
    "programme": "program",
    "programmes": "programs",
    "tyre": "tire",
    "tyres": "tires",
}
_MANOEUVRE_RE = re.compile(r"manoeuvr(e|es|ed|ing|able|ability)$")
_RE_ENDINGS_RE = re.compile(
    r"(theat|cent|met|kilomet|lit|fib|calib|reconnoit|sab|meag|somb)re(s|d)?$"
)
_OUR_RE = re.compile(
    r"(arm|hon|fav|behavi|col|harb|lab|neighb|rum|vig|val|endeav|hum|rig|vap|clam|savi|od)"
    r"our(s|ed|ing|able|ably|ite|ites|ful|less|er|ers|hood)?$"
)
_LL_RE = re.compile(
    r"(travel|model|label|level|signal|cancel|fuel|channel|total|counsel|marshal|tunnel|"
    r"jewel|dial|duel|equal|rival|shovel)l(ed|ing|er|ers)$"
)
_ISE_RE = re.compile(
    r"(organ|recogn|priorit|mobil|immobil|minim|maxim|emphas|util|synchron|neutral|real|"
    r"special|stabil|character|central|decentral|summar|categor|standard|local|normal|optim|"
    r"author|civil|modern|harmon|general|capital|jeopard|legit|militar|polar|critic|visual|"
    r"rational|familiar|formal|memor|moral|motor|nation|apolog|sympath|final|initial|"
    r"subsid|victim|terror|digit|public)is"
    r"(e|es|ed|ing|ation|ations|able|er|ers)$"
)


def americanize(word: str) -> str:
    """Fold a lower-case British spelling to its American form (other words unchanged)."""
    if word in _SPELLING:
        return _SPELLING[word]
    if match := _MANOEUVRE_RE.search(word):
        suffix = match.group(1)
        return word[: match.start()] + "maneuver" + {"e": "", "es": "s"}.get(suffix, suffix)
    if match := _RE_ENDINGS_RE.search(word):
        suffix = "ed" if match.group(2) == "d" else match.group(2) or ""
        return word[: match.start()] + match.group(1) + "er" + suffix
    if match := _OUR_RE.search(word):
        return word[: match.start()] + match.group(1) + "or" + (match.group(2) or "")
    if match := _LL_RE.search(word):
        return word[: match.start()] + match.group(1) + match.group(2)
    if match := _ISE_RE.search(word):
        return word[: match.start()] + match.group(1) + "iz" + match.group(2)
    return word


@functools.lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


_WORD_RE = re.compile(r"[A-Za-z]+")


def americanize_text(text: str) -> str:
    """Lower-case a text and fold its British spellings, so both spellings embed alike."""
    return _WORD_RE.sub(lambda match: americanize(match.group(0).lower()), text)


def _stem_words(words: list[str]) -> list[str]:
    return _stemmer().stemWords([americanize(w) for w in words])


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-case, split, drop English stopwords and stem, as for both documents and queries."""
    return bm25s.tokenize(
        list(texts),
        token_pattern=_TOKEN_PATTERN,
        stopwords=list(STOPWORDS),
        stemmer=_stem_words,
        return_ids=False,
        show_progress=False,
    )


def index_text(passage: Passage) -> str:
    """The text indexed for a passage: title, keywords and body."""
    return "\n".join((passage.title, ", ".join(passage.keywords), passage.text))


def corpus_hash(passages: Sequence[Passage]) -> str:
    """SHA-256 over the index version and every passage's id and indexed text, in order."""
    digest = hashlib.sha256(f"ooda-forge-doctrine-index-v{INDEX_VERSION}\0".encode())
    for passage in passages:
        digest.update(passage.id.encode("utf-8") + b"\0")
        digest.update(index_text(passage).encode("utf-8") + b"\0")
    return digest.hexdigest()


def default_cache_root() -> Path:
    """``$OODA_FORGE_CACHE/doctrine`` if set, else ``~/.cache/ooda-forge/doctrine``."""
    env = os.environ.get("OODA_FORGE_CACHE")
    base = Path(env).expanduser() if env else Path.home() / ".cache" / "ooda-forge"
    return base / "doctrine"


class RetrievalWarning(UserWarning):
    """Dense retrieval is unavailable, so search falls back to BM25."""


@functools.lru_cache(maxsize=1)
def _shared_encoder() -> Encoder | None:
    """The embedding model, loaded once per process; None (and one warning) if it cannot be."""
    try:
        return load_encoder()
    except DenseUnavailable as exc:
        warnings.warn(
            f"doctrine: dense retrieval unavailable ({exc}); searching with BM25 only",
            RetrievalWarning,
            stacklevel=3,
        )
        return None


def reciprocal_rank_fusion(
    bm25_scores: np.ndarray,
    dense_scores: np.ndarray,
    k: float = RRF_K,
    dense_weight: float = DENSE_WEIGHT,
) -> np.ndarray:
    """Fuse two score arrays over the same passages by reciprocal rank.

    Each passage gets ``1 / (k + r)`` for its rank ``r`` (from 1) among passages with a positive
    BM25 score, plus ``dense_weight / (k + r)`` for its rank by dense similarity; ties keep corpus
    order.

    Returns:
        The fused scores, one per passage.
    """
    fused = np.zeros(len(bm25_scores), dtype=np.float64)
    order = np.argsort(-bm25_scores, kind="stable")
    matched = order[bm25_scores[order] > 0]
    fused[matched] += 1.0 / (k + np.arange(1, len(matched) + 1))
    order = np.argsort(-dense_scores, kind="stable")
    fused[order] += dense_weight / (k + np.arange(1, len(order) + 1))
    return fused


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: a passage and its score under the search mode.

    The score is the BM25 score (mode ``bm25``), the cosine similarity (``dense``) or the fused
    reciprocal-rank score (``hybrid``); only its order within one search means anything.
    """

    passage: Passage
    score: float

    @property
    def id(self) -> str:
        """The passage id."""
        return self.passage.id

    @property
    def title(self) -> str:
        """The passage title."""
        return self.passage.title

    @property
    def reference(self) -> str:
        """The publication (and chapter) the passage draws on."""
        return self.passage.reference


def _load_cached(folder: Path, n_docs: int) -> bm25s.BM25 | None:
    try:
        meta = json.loads((folder / _META_FILE).read_text(encoding="utf-8"))
        if meta.get("n_docs") != n_docs:
            return None
        return bm25s.BM25.load(str(folder), show_progress=False)
    except Exception:  # noqa: BLE001 - any unreadable cache is rebuilt
        return None


def _save(retriever: bm25s.BM25, root: Path, folder: Path, n_docs: int) -> bool:
    """Save atomically: write a temp folder next to the target, then rename it into place."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=root))
        retriever.save(str(tmp), show_progress=False)
        (tmp / _META_FILE).write_text(
            json.dumps({"n_docs": n_docs, "index_version": INDEX_VERSION}), encoding="utf-8"
        )
        if folder.exists():  # a stale or broken copy (the meta check failed): replace it
            shutil.rmtree(folder, ignore_errors=True)
        try:
            os.replace(tmp, folder)
        except OSError:  # another process won the race; its copy is equivalent
            shutil.rmtree(tmp, ignore_errors=True)
        return True
    except OSError as exc:
        warnings.warn(f"doctrine: index cache not written to {folder}: {exc}", stacklevel=3)
        return False


def _as_set(value: str | Iterable[str] | None, name: str, allowed: frozenset[str]) -> set[str]:
    values = {value} if isinstance(value, str) else set(value or ())
    unknown = values - allowed
    if unknown:
        raise ValueError(f"unknown {name} {sorted(unknown)}; allowed: {sorted(allowed)}")
    return values


class DoctrineIndex:
    """Hybrid (BM25 + dense) search over doctrine passages with metadata filters.

    Build with ``DoctrineIndex.build(passages)``; query with ``search``.
    """

    def __init__(
        self,
        passages: Sequence[Passage],
        retriever: bm25s.BM25,
        cache_path: Path | None = None,
        from_cache: bool = False,
        encoder: Encoder | None = None,
        vectors: np.ndarray | None = None,
        embeddings_from_cache: bool = False,
    ) -> None:
        """Wrap an already built retriever (and passage vectors); prefer ``DoctrineIndex.build``."""
        self._passages = tuple(passages)
        self._by_id = {p.id: i for i, p in enumerate(self._passages)}
        if len(self._by_id) != len(self._passages):
            raise ValueError("passage ids must be unique")
        if (encoder is None) != (vectors is None):
            raise ValueError("dense search needs both the encoder and the passage vectors")
        self._retriever = retriever
        self._encoder = encoder
        self._vectors = vectors
        self._topics = np.array([p.topic for p in self._passages])
        self._domains = np.array([p.domain for p in self._passages])
        self._echelons = np.array([p.echelon for p in self._passages])
        self.cache_path = cache_path
        self.from_cache = from_cache
        self.embeddings_from_cache = embeddings_from_cache

    @classmethod
    def build(
        cls,
        passages: Sequence[Passage],
        cache_dir: Path | str | None = None,
        *,
        dense: bool = True,
    ) -> DoctrineIndex:
        """Index passages, or load the saved index and passage vectors for exactly this corpus.

        Args:
            passages: The passages to index (ids must be unique).
            cache_dir: Cache root; the index lives in ``<cache_dir>/<corpus hash>/``. Defaults
                to ``default_cache_root()``.
            dense: Also embed the passages for dense and hybrid search (falls back to BM25 only,
                with one ``RetrievalWarning`` per process, if the model cannot be loaded).

        Returns:
            The index; ``from_cache`` tells whether the BM25 index was loaded from disk and
            ``embeddings_from_cache`` whether the passage vectors were.
        """
        passages = tuple(passages)
        if not passages:
            raise ValueError("cannot index an empty corpus")
        root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_root()
        folder = root / corpus_hash(passages)
        retriever = _load_cached(folder, len(passages))
        from_cache = retriever is not None
        if retriever is None:
            retriever = bm25s.BM25()
            retriever.index(tokenize([index_text(p) for p in passages]), show_progress=False)
            saved = _save(retriever, root, folder, len(passages))
        else:
            saved = True
        encoder = _shared_encoder() if dense else None
        vectors = None
        vectors_from_cache = False
        if encoder is not None:
            vector_file = embedding_file(folder, encoder.model_id)
            vectors = load_embeddings(vector_file, len(passages)) if saved else None
            vectors_from_cache = vectors is not None
            if vectors is None:
                vectors = encoder.encode(
                    [index_text(p) for p in passages],
                    progress=f"doctrine: embedding {len(passages)} passages",
                )
                if saved and not save_embeddings(vector_file, vectors):
                    warnings.warn(
                        f"doctrine: passage embeddings not cached in {folder}", stacklevel=2
                    )
        return cls(
            passages,
            retriever,
            folder if saved else None,
            from_cache=from_cache,
            encoder=encoder,
            vectors=vectors,
            embeddings_from_cache=vectors_from_cache,
        )

    @property
    def passages(self) -> tuple[Passage, ...]:
        """All indexed passages, in index order."""
        return self._passages

    @property
    def modes(self) -> tuple[str, ...]:
        """The search modes this index supports (dense ones only when the model loaded)."""
        return SEARCH_MODES if self._vectors is not None else ("bm25",)

    @property
    def default_mode(self) -> str:
        """``hybrid`` when dense search is available, else ``bm25``."""
        return self.modes[0]

    def __len__(self) -> int:
        return len(self._passages)

    def __contains__(self, passage_id: object) -> bool:
        return passage_id in self._by_id

    def get(self, passage_id: str) -> Passage:
        """Return the passage with this id.

        Raises:
            KeyError: If no passage has that id.
        """
        return self._passages[self._by_id[passage_id]]

    def search(
        self,
        query: str,
        k: int = 5,
        topic: str | Iterable[str] | None = None,
        domain: str | Iterable[str] | None = None,
        echelon: str | Iterable[str] | None = None,
        mode: SearchMode | None = None,
    ) -> list[Hit]:
        """Return up to ``k`` passages answering the query, best first.

        Filters are applied to the ranking of the whole corpus, so ``k`` hits come back whenever
        ``k`` matching passages are ranked (in ``bm25`` mode: share a term with the query). Each
        filter takes one value or several. A query of stopwords only has no content and finds
        nothing in any mode.

        Args:
            query: Free text.
            k: Maximum number of hits.
            topic: Keep only these topics.
            domain: Keep only these domains (exact match).
            echelon: Keep only these echelons; passages for echelon ``any`` always match.
            mode: ``hybrid``, ``bm25`` or ``dense``; default ``default_mode``.

        Returns:
            Hits best first (ties in corpus order); in ``bm25`` mode only positive scores.

        Raises:
            ValueError: If a filter value or the mode is unknown, or the mode needs the
                embedding model and it is not available.
        """
        mode = mode or self.default_mode
        if mode not in SEARCH_MODES:
            raise ValueError(f"unknown search mode {mode!r}; allowed: {list(SEARCH_MODES)}")
        if mode not in self.modes:
            raise ValueError(
                f"search mode {mode!r} needs the embedding model, which is not available; "
                "use 'bm25'"
            )
        topics = _as_set(topic, "topic", TOPICS)
        domains = _as_set(domain, "domain", DOMAINS)
        echelons = _as_set(echelon, "echelon", ECHELONS)
        tokens = tokenize([query])[0]
        if k <= 0 or not tokens:
            return []
        mask = np.ones(len(self._passages), dtype=bool)
        if topics:
            mask &= np.isin(self._topics, list(topics))
        if domains:
            mask &= np.isin(self._domains, list(domains))
        if echelons:
            mask &= np.isin(self._echelons, [*echelons, "any"])
        if mode != "dense":
            bm25_scores = np.asarray(self._retriever.get_scores(tokens), dtype=np.float64)
        if mode != "bm25":
            query_vector = self._encoder.encode([americanize_text(query)])[0]
            dense_scores = (self._vectors @ query_vector).astype(np.float64)
        if mode == "bm25":
            scores = bm25_scores
            mask &= scores > 0
        elif mode == "dense":
            scores = dense_scores
        else:
            scores = reciprocal_rank_fusion(bm25_scores, dense_scores)
        candidates = np.flatnonzero(mask)
        order = candidates[np.argsort(-scores[candidates], kind="stable")][:k]
        return [Hit(self._passages[i], float(scores[i])) for i in order]


def default_index(extra_dirs: Sequence[Path | str] = ()) -> DoctrineIndex:
    """The index over the built-in corpus plus ``extra_dirs``, built once per process.

    Args:
        extra_dirs: Users' doctrine folders (see ``load_corpus``).

    Returns:
        A shared ``DoctrineIndex``; calls with the same folders return the same object.
    """
    return _default_index(tuple(str(Path(d).expanduser().resolve()) for d in extra_dirs))


@functools.lru_cache(maxsize=8)
def _default_index(extra_dirs: tuple[str, ...]) -> DoctrineIndex:
    return DoctrineIndex.build(load_corpus([Path(d) for d in extra_dirs]))
