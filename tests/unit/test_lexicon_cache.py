"""pipeline.lexicon_cache: compiled lexicons kept between processes, never stale, never unsafe."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import lexicon_cache
from pipeline.lexicon_cache import cached

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("ESCALATION_WATCH_CACHE_DIR", str(d))
    return d


@pytest.fixture
def source(tmp_path):
    p = tmp_path / "source.yaml"
    p.write_text("version: 1\n")
    return p


def counting(value):
    calls = []

    def build():
        calls.append(1)
        return dict(value)

    return build, calls


def test_built_once_then_read_from_a_private_file(cache, source):
    build, calls = counting({"a": 1})
    assert cached("thing", [source], build) == {"a": 1}
    assert cached("thing", [source], build) == {"a": 1}
    assert len(calls) == 1
    (entry,) = cache.glob("thing-*.pickle")
    assert oct(cache.stat().st_mode & 0o777) == "0o700"
    assert oct(entry.stat().st_mode & 0o777) == "0o600"


def test_a_changed_source_rebuilds_and_drops_the_old_entry(cache, source):
    build, calls = counting({"a": 1})
    cached("thing", [source], build)
    (old,) = cache.glob("thing-*.pickle")
    source.write_text("version: 2\n")
    cached("thing", [source], build)
    (new,) = cache.glob("thing-*.pickle")
    assert len(calls) == 2 and new != old


def test_a_corrupt_entry_is_rebuilt(cache, source):
    build, calls = counting({"a": 1})
    cached("thing", [source], build)
    (entry,) = cache.glob("thing-*.pickle")
    entry.write_bytes(b"not a pickle")
    assert cached("thing", [source], build) == {"a": 1}
    assert len(calls) == 2
    assert pickle.loads(entry.read_bytes()) == {"a": 1}


def test_a_directory_others_can_write_is_never_read(cache, source):
    build, calls = counting({"a": 1})
    cached("thing", [source], build)
    (entry,) = cache.glob("thing-*.pickle")
    entry.write_bytes(pickle.dumps({"planted": True}))
    cache.chmod(0o777)
    assert cached("thing", [source], build) == {"a": 1}
    assert len(calls) == 2


def test_an_entry_others_can_write_is_never_read(cache, source):
    build, calls = counting({"a": 1})
    cached("thing", [source], build)
    (entry,) = cache.glob("thing-*.pickle")
    entry.write_bytes(pickle.dumps({"planted": True}))
    entry.chmod(0o666)
    assert cached("thing", [source], build) == {"a": 1}


def test_off_and_unwritable_fall_back_to_building(monkeypatch, tmp_path, source):
    build, calls = counting({"a": 1})
    monkeypatch.setenv("ESCALATION_WATCH_CACHE_DIR", "off")
    assert lexicon_cache.cache_dir() is None
    assert cached("thing", [source], build) == {"a": 1}
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("ESCALATION_WATCH_CACHE_DIR", str(blocker / "cache"))  # under a file: cannot exist
    assert cached("thing", [source], build) == {"a": 1}
    assert len(calls) == 2


def test_the_cached_english_and_russian_lexicons_score_as_the_compiled_ones(cache):
    from pipeline.lexicons import compile_language, lemmatizer
    from pipeline.score import score_text
    from pipeline.signals import LEXICON_SOURCES, compile_lexicon

    fresh = compile_lexicon()
    cached("lexicon-en", LEXICON_SOURCES, compile_lexicon)
    loaded = cached("lexicon-en", LEXICON_SOURCES, lambda: pytest.fail("not read from the cache"))
    for text in ("Thousands of Russian troops have massed near Ukraine's border",
                 "The pipeline won't open if Russia invades", "Teenagers attack commuters on a train"):  # fmt: skip
        assert score_text(text, lexicon=loaded, gate=False) == score_text(text, lexicon=fresh, gate=False)
    import dataclasses

    ru = compile_language("ru", english=fresh)
    store = lambda lex: dataclasses.replace(lex, lemma=None)  # noqa: E731
    load = lambda lex: dataclasses.replace(lex, lemma=lemmatizer(lex.language, lex.lemma_overrides))  # noqa: E731
    cached("lexicon-ru", LEXICON_SOURCES, lambda: ru, before_store=store, after_load=load)
    ru_loaded = cached("lexicon-ru", LEXICON_SOURCES, lambda: pytest.fail("not cached"), before_store=store,
                       after_load=load)  # fmt: skip
    text = "Российские войска обстреляли Николаев"
    assert score_text(text, lexicon=ru_loaded, gate=False) == score_text(text, lexicon=ru, gate=False)
    assert score_text(text, lexicon=ru_loaded, gate=False).theatre == "RUS-UKR"


# a hang guard, not a speed test: each first run compiles the lexicon (~30 s of CPU since
# taxonomy 2026.12.19), and the runs share two cores
@pytest.mark.timeout(420)
def test_concurrent_first_runs_all_start_and_leave_one_entry(tmp_path):
    """Four processes start on an empty cache at once: each compiles or reads, none fails,
    and one entry is left (each writes its own temporary file and renames it into place)."""
    env = {**os.environ, "ESCALATION_WATCH_CACHE_DIR": str(tmp_path / "c"), "PYTHONPATH": str(ROOT)}
    code = ("from pipeline.score import score_text; "
            "print(score_text(\"Russian troops shell Kharkiv\").theatre)")  # fmt: skip
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(4)]  # fmt: skip
    outs = [p.communicate(timeout=400)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0] * 4
    assert outs == ["RUS-UKR"] * 4
    assert len(list((tmp_path / "c").glob("lexicon-en-*.pickle"))) == 1
    assert not list((tmp_path / "c").glob(".*.tmp"))
