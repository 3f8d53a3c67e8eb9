"""Tests for the doctrine corpus, its BM25 index and cache, and the ingest of users' files."""

from __future__ import annotations

import dataclasses
import os
import re
import warnings
from pathlib import Path

import bm25s
import pytest
import yaml

from doctrine import (
    DOMAINS,
    ECHELONS,
    TOPICS,
    DoctrineIndex,
    Hit,
    IngestWarning,
    Passage,
    default_index,
    load_corpus,
)
from doctrine._corpus import CORPUS_DIR, load_builtin

EVAL_FILE = Path(__file__).parent / "data" / "doctrine_eval.yaml"
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
def index(passages: list[Passage], tmp_path_factory: pytest.TempPathFactory) -> DoctrineIndex:
    return DoctrineIndex.build(passages, cache_dir=tmp_path_factory.mktemp("index"))


@pytest.fixture(scope="module")
def eval_queries() -> list[dict]:
    return yaml.safe_load(EVAL_FILE.read_text(encoding="utf-8"))["queries"]


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


def test_recall_at_5_meets_target(eval_queries, index):
    recalls = []
    for item in eval_queries:
        top = {h.id for h in index.search(item["query"], k=5)}
        relevant = set(item["relevant"])
        recalls.append(len(top & relevant) / len(relevant))
    recall = sum(recalls) / len(recalls)
    assert recall >= 0.9, f"recall@5 = {recall:.3f}"


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


def test_queries_without_matching_terms_return_nothing(index):
    assert index.search("", k=5) == []
    assert index.search("the and of what how", k=5) == []
    assert index.search("xylophone", k=5) == []
    assert index.search("attack", k=0) == []


def test_british_spellings_find_the_same_passages(index):
    american = [h.id for h in index.search("maneuver defense in the theater", k=5)]
    british = [h.id for h in index.search("manoeuvre defence in the theatre", k=5)]
    assert american == british


def test_get_contains_len(index, passages):
    assert len(index) == len(passages)
    assert "tempo-ooda-loop" in index and "no-such-passage" not in index
    assert index.get("tempo-ooda-loop").topic == "tempo"
    with pytest.raises(KeyError):
        index.get("no-such-passage")


# --- cache --------------------------------------------------------------------------------------


def test_second_build_loads_the_saved_index_without_reindexing(passages, tmp_path, monkeypatch):
    first = DoctrineIndex.build(passages, cache_dir=tmp_path)
    assert not first.from_cache
    assert first.cache_path is not None and first.cache_path.parent == tmp_path
    assert (first.cache_path / "params.index.json").exists()

    def refuse(*args, **kwargs):
        raise AssertionError("the index was rebuilt instead of loaded from the cache")

    monkeypatch.setattr(bm25s.BM25, "index", refuse)
    second = DoctrineIndex.build(passages, cache_dir=tmp_path)
    assert second.from_cache and second.cache_path == first.cache_path
    query = "screening criteria for a course of action"
    assert [(h.id, h.score) for h in second.search(query)] == [
        (h.id, h.score) for h in first.search(query)
    ]


def test_cache_key_changes_with_corpus_content(passages, tmp_path):
    first = DoctrineIndex.build(passages, cache_dir=tmp_path)
    edited = list(passages)
    edited[0] = dataclasses.replace(edited[0], text=edited[0].text + " Additional words.")
    second = DoctrineIndex.build(edited, cache_dir=tmp_path)
    assert not second.from_cache
    assert second.cache_path != first.cache_path
    assert len([d for d in tmp_path.iterdir() if not d.name.startswith(".")]) == 2


def test_default_cache_location_follows_environment(passages, _cache_in_tmp):
    built = DoctrineIndex.build(passages)
    assert built.cache_path is not None
    assert built.cache_path.parent == _cache_in_tmp / "doctrine"
    assert built.cache_path.is_dir()


def test_corrupt_cache_is_rebuilt(passages, tmp_path):
    first = DoctrineIndex.build(passages, cache_dir=tmp_path)
    (first.cache_path / "vocab.index.json").write_text("{not json", encoding="utf-8")
    again = DoctrineIndex.build(passages, cache_dir=tmp_path)
    assert not again.from_cache
    assert again.search("OODA loop")[0].id == "tempo-ooda-loop"
    assert DoctrineIndex.build(passages, cache_dir=tmp_path).from_cache


def test_default_index_is_built_once_per_process(_cache_in_tmp):
    first = default_index()
    assert first is default_index()
    assert "coa-screening-criteria-fasdc" in first
    assert first.search("OODA loop", k=1)[0].id == "tempo-ooda-loop"


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
    index = DoctrineIndex.build(corpus)
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
