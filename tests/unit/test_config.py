"""pipeline.config: loading with positioned errors, safe editing, OPML."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pipeline import config
from pipeline.config import ConfigError, load, loads
from pipeline.config.tree import YamlMapping, YamlSequence
from pipeline.types import DEFAULT_INTERVAL_S

ROOT = Path(__file__).resolve().parents[2]

MINIMAL = "feeds:\n  - name: A\n    url: https://a.example/rss\n"


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        loads(text)
    return str(info.value).splitlines()


# --------------------------------------------------------------------- valid files


def test_minimal_file_gets_defaults():
    cfg = loads(MINIMAL)
    (feed,) = cfg.feeds
    assert (feed.name, feed.url, feed.interval_s, feed.enabled, feed.tags, feed.language) == (
        "A", "https://a.example/rss", DEFAULT_INTERVAL_S, True, (), None,
    )
    assert feed.line == 2
    assert cfg.settings == config.Settings()


def test_all_fields_and_durations():
    cfg = loads(
        "feeds:\n"
        "  - name: A\n    url: https://a.example/rss\n    interval: 1h30m\n"
        "    enabled: false\n    tags: [x, y, x]\n    language: en-GB\n"
        "  - {name: B, url: 'http://b.example/', interval: 90}\n"
        "settings:\n  timeout_s: 5.5\n  max_backoff_s: 2h\n  deny_private_networks: true\n"
    )
    a, b = cfg.feeds
    assert (a.interval_s, a.enabled, a.tags, a.language) == (5400, False, ("x", "y"), "en-GB")
    assert (b.interval_s, b.line) == (90, 8)
    assert (cfg.settings.timeout_s, cfg.settings.max_backoff_s, cfg.settings.deny_private_networks) == (5.5, 7200, True)


def test_user_agent_per_feed():
    cfg = loads(
        "feeds:\n"
        "  - name: A\n    url: https://a.example/rss\n"
        "    user_agent: \"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\"\n"
        "  - name: B\n    url: https://b.example/rss\n"
    )
    assert [f.user_agent for f in cfg.feeds] == ["Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                                                 None]  # fmt: skip


@pytest.mark.parametrize(("value", "why"), [
    ('"Bot\\r\\nX-Injected: 1"', "printable ASCII, no line breaks"),
    ("''", "non-empty string"),
    ("[a, b]", "non-empty string"),
    ('"' + "x" * 600 + '"', "at most 512 characters"),
])
def test_user_agent_problems_name_line_and_column(value, why):
    text = f"feeds:\n  - name: A\n    url: https://a.example/rss\n    user_agent: {value}\n"
    with pytest.raises(ConfigError) as info:
        loads(text, "feeds.yaml")
    assert f"feeds.yaml:4:17: feeds[0].user_agent: must be" in str(info.value)
    assert why in str(info.value)


def test_user_agent_misspelt_is_pointed_at():
    with pytest.raises(ConfigError, match="did you mean 'user_agent'"):
        loads("feeds:\n  - name: A\n    url: https://a.example/rss\n    useragnt: x\n")


def test_settings_rules_cover_every_settings_field():
    assert config.validator.settings_keys_match()


def test_real_feeds_yaml():
    cfg = load(ROOT / "feeds.yaml")
    enabled = [f for f in cfg.feeds if f.enabled]
    assert len(enabled) >= 25
    urls = [config.normalize_url(f.url) for f in cfg.feeds]
    assert len(urls) == len(set(urls))
    themes = {t for f in cfg.feeds for t in f.tags}
    assert {"ukraine-russia", "middle-east", "asia-pacific"} <= themes
    native = [f for f in cfg.feeds if f.enabled and (f.language or "").split("-")[0] in ("ru", "uk")]
    assert len(native) >= 10 and {f.language for f in native} == {"ru", "uk"}
    state = {f.name for f in cfg.feeds if "state-media" in f.tags}
    assert {"ТАСС", "РИА Новости"} <= state


def _libyaml_tree(text: str):
    """The loader's libyaml tree of ``text``, or None where it leaves the text to ruamel.yaml."""
    try:
        return config.loader.parse_with_libyaml(text)
    except config.loader.NeedsRuamel:
        return None


def _kind(value) -> str:
    """bool, int, float, str or the type: ruamel.yaml's ScalarFloat, DoubleQuotedScalarString... are their base."""
    return next((t.__name__ for t in (bool, int, float, str) if isinstance(value, t)), type(value).__name__)


def _assert_same_tree(fast, slow, where: str = "doc") -> None:
    """The same values, of the same kinds, starting at the same places. An empty or
    null value's own place aside: the two parsers put it at the next token, and the
    validator points at its key instead (YamlMapping.value_start)."""
    assert _kind(fast) == _kind(slow), where
    if isinstance(slow, YamlMapping):
        assert [repr(k) for k in fast] == [repr(k) for k in slow], where
        assert (fast.start, fast.key_starts) == (slow.start, slow.key_starts), where
        for key in slow:
            if slow[key] is not None:
                assert fast.value_starts[key] == slow.value_starts[key], f"{where}.{key}"
            _assert_same_tree(fast[key], slow[key], f"{where}.{key}")
    elif isinstance(slow, YamlSequence):
        assert (fast.start, fast.item_starts, len(fast)) == (slow.start, slow.item_starts, len(slow)), where
        for i, (a, b) in enumerate(zip(fast, slow)):
            _assert_same_tree(a, b, f"{where}[{i}]")
    elif isinstance(slow, float) and math.isnan(slow):
        assert math.isnan(fast), where
    else:
        assert (fast, str(fast)) == (slow, str(slow)), where


def test_fast_and_ruamel_parsers_agree_on_real_file():
    text = (ROOT / "feeds.yaml").read_text("utf-8")
    fast = _libyaml_tree(text)
    assert fast is not None  # the real file must take the fast path
    slow = config.loader.parse_with_ruamel(text, "f")
    _assert_same_tree(fast, slow)
    assert config.validator.validate_tree(fast, "f") == config.validator.validate_tree(slow, "f")


@pytest.mark.parametrize(
    "value",
    ["yes", "True", "null", "~", "-5", "0x10", "1_000", "1:30", "'a''b'", '"x y"', "[a, 'b']", "2024-01-01",
     # YAML 1.1 and 1.2 read these apart (PyYAML's resolver is 1.1; ruamel.yaml's, and so ours, 1.2)
     "on", "off", "no", "Y", "NO", "017", "0o17", "0b101", "-0x1F", "1e3", "1_0.5", ".inf", "-.Inf", ".NaN",
     "1:30:00", "+_", "0x", "._", "TRUE", "Null", "", "1.", "-0.0", "<<", "=", "!!str 5", "! x"],
)  # fmt: skip
def test_fast_parser_never_disagrees(value):
    text = f"feeds:\n  - name: A\n    url: https://a.example/\n    language: {value}\n    tags: {value}\n"
    fast = _libyaml_tree(text)
    try:
        slow = config.loader.parse_with_ruamel(text, "f")
    except (ValueError, IndexError):  # ruamel.yaml's own crash on "+_", "0x", "._": the fast path must defer
        assert fast is None
        return
    if fast is not None:
        _assert_same_tree(fast, slow)
        if value != ".NaN":  # nan != nan: two parsers' nans never compare equal
            assert dict(fast["feeds"][0]) == dict(slow["feeds"][0])


@pytest.mark.parametrize(
    "text",
    [
        "",  # the editing tests' file, EDITABLE (defined below)
        "feeds:\n  - name: A\n    url: ftp://a.example/\n    intervall: 5m\n  - name: a\n    url: https://b.example\n"
        "    interval: 8d\n    enabled: yes\n    tags: x\n    language: xx\n  - url: https://B.example/\n"
        "  - just a string\nsettings:\n  timeout_s: 0\n  conect_timeout_s: 3\n  max_redirects: many\nfedds: 1\n",
        "feeds:\n  - {name: ТАСС, url: 'ftp://x', tags: [война, «мир»]}\n  - name: \"ё 😀\"  # c\n    url: x\n",
        "feeds:\r\n  - name: A\r\n    url: https://a.example/\r\n    interval: 5\r\n",
        "feeds:\n  -\n  - # c\n  - name: >-\n      A\n      B\n    url: \"https://a\n      .example/\"\n"
        "    user_agent: |\n      Mozilla\n    tags:\n    - x\n    -\n    - [y]\n    language:\n",
        "---\nfeeds: []\nsettings: {timeout_s: 5.50, max_bytes: 0x10000, concurrency: 1_6, max_backoff_s: 6h}\n...\n",
        '{"feeds": [{"name": "A", "url": "https://a.example/", "enabled": false, "interval": 1e3}]}',
        "- a\n- b\n",
        "\n\n# c\njust text\n",
        "feeds:\n  - name: A\n    url: https://a.example/\n    2: x\n    true: y\n    null: z\n    1.5: w\n",
        "feeds:\n  - ! 5\n  - ! \"5\"\n  - ! x\n",  # "!" (non-specific): both resolve it as if plain
    ],
)
def test_libyaml_tree_is_ruamels_tree(text):
    """Values, kinds and every position the validator reports (so the messages too)."""
    text = text or EDITABLE
    fast = _libyaml_tree(text)
    assert fast is not None, "this text should take the fast path"
    _assert_same_tree(fast, config.loader.parse_with_ruamel(text, "f"))


@pytest.mark.parametrize(
    "text",
    [
        "feeds:\n\t- name: A\n",  # a tab
        "feeds: []\n# a comment with a\ttab\n",
        "feeds:\r  - name: A\r",  # CR line breaks
        "feeds:\n  - name: A\u2028B\n",  # LS: a line break to YAML 1.1 only
        "feeds:\n  - name: A\x85B\n",  # NEL, likewise
        "%YAML 1.1\n---\nfeeds: []\n",  # ruamel.yaml reads the rest by 1.1 rules
        "feeds:\n  - &first {name: A, url: 'https://a.example/'}\n  - *first\n",
        "feeds:\n  - name: A\n    url: https://a.example/\n    enabled: &on true\n",  # ruamel: ScalarBoolean
        "feeds:\n  - name: !!str 5\n",
        "feeds: !!seq []\n",
        "feeds:\n  - ! [x]\n",
        "feeds:\n  - name: A\n    1: x\n    true: y\n",  # 1 == True: a duplicate key
        "feeds:\n  - name: A\n    <<: {url: 'https://a.example/'}\n",
        "feeds:\n  - name: A\n    since: 2024-01-01\n",
        "feeds:\n  - ? [a]\n    : b\n",
        "feeds:\n  - name: A\n    name: B\n",  # duplicate key: ruamel.yaml words the error
        "feeds:\n  - name: [A\n",  # syntax error: likewise
        "feeds: []\n---\nfeeds: []\n",  # two documents
    ],
)
def test_what_libyaml_is_not_trusted_with_goes_to_ruamel(text):
    assert _libyaml_tree(text) is None
    try:
        expected = ("ok", config.validator.validate_tree(config.loader.parse_with_ruamel(text, "feeds.yaml"), "feeds.yaml"))
    except ConfigError as e:
        expected = ("error", str(e))
    try:
        assert ("ok", loads(text)) == expected
    except ConfigError as e:
        assert ("error", str(e)) == expected


def test_a_yaml_1_1_directive_is_honoured_as_before():
    cfg = loads("%YAML 1.1\n---\nfeeds:\n  - name: A\n    url: https://a.example/\n    enabled: off\n")
    assert cfg.feeds[0].enabled is False  # 'off' is false in YAML 1.1, a string in 1.2
    (line,) = problems("feeds:\n  - name: A\n    url: https://a.example/\n    enabled: off\n")
    assert line == "feeds.yaml:4:14: feeds[0].enabled: must be true or false (got 'off')"


def test_plain_scalar_rules_are_ruamels_yaml_1_2_rows():
    """loader._RESOLVERS_1_2 is a copy of ruamel.yaml's implicit resolvers for YAML 1.2."""
    from ruamel.yaml.resolver import implicit_resolvers

    builders = {"bool": "_bool", "float": "_float", "int": "_int", "null": "_null",
                "merge": "_ruamel_type", "timestamp": "_ruamel_type", "value": "_ruamel_type"}  # fmt: skip
    theirs = [
        (tuple(first), regexp.pattern, builders[tag.rsplit(":", 1)[1]])
        for versions, tag, regexp, first in implicit_resolvers
        if (1, 2) in versions and not tag.endswith(":yaml")  # "!&*": no plain scalar starts so
    ]
    ours = [(first, pattern, build.__name__) for first, pattern, build in config.loader._RESOLVERS_1_2]
    assert ours == theirs
    # ours are all compiled verbose (re.X); ruamel.yaml's are where it matters
    verbose = {regexp.pattern: bool(regexp.flags & re.X) for _v, _t, regexp, _f in implicit_resolvers}
    assert all(verbose[pattern] or not re.search(r"[\s#]", pattern) for _f, pattern, _b in config.loader._RESOLVERS_1_2)


def test_loading_imports_no_ruamel():
    """ruamel.yaml is for editing and the files libyaml is not trusted with: loading
    feeds.yaml does not pay its import (~40 ms)."""
    code = "import sys; from pipeline.config import load; load('feeds.yaml'); print('ruamel.yaml' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr


def test_ten_thousand_feeds_load():
    text = "feeds:\n" + "".join(
        f"  - name: Feed {i}\n    url: https://example{i}.com/rss\n    interval: 15m\n    tags: [a]\n"
        for i in range(10_000)
    )
    cfg = loads(text)
    assert len(cfg.feeds) == 10_000 and cfg.feeds[-1].line == 4 * 9_999 + 2


# --------------------------------------------------------------------- errors


def test_interval_message_matches_house_style():
    text = "# c\nfeeds:\n" + "".join(f"  - name: F{i}\n    url: https://f{i}.example/\n" for i in range(3))
    text += "  - name: F3\n    url: https://f3.example/\n    interval: 5\n"
    assert problems(text) == ["feeds.yaml:11:15: feeds[3].interval: must be at least 60 seconds (got 5)"]


def test_every_problem_sorted_by_line():
    text = (
        "feeds:\n"
        "  - name: A\n"  # 2
        "    url: ftp://a.example/\n"  # 3
        "    intervall: 5m\n"  # 4
        "  - name: a\n"  # 5
        "    url: https://b.example\n"  # 6
        "    interval: 8d\n"  # 7
        "    enabled: yes\n"  # 8
        "    tags: x\n"  # 9
        "    language: xx\n"  # 10
        "  - url: https://B.example/\n"  # 11
        "  - just a string\n"  # 12
        "settings:\n"  # 13
        "  timeout_s: 0\n"  # 14
        "  conect_timeout_s: 3\n"  # 15
        "  max_redirects: many\n"  # 16
        "fedds: 1\n"  # 17
    )
    assert problems(text) == [
        "feeds.yaml:3:10: feeds[0].url: scheme 'ftp:' is not allowed; use http:// or https://",
        "feeds.yaml:4:5: feeds[0].intervall: unknown key; did you mean 'interval'?",
        "feeds.yaml:5:11: feeds[1].name: duplicate of feeds[0] (line 2): 'a'; names must be unique",
        "feeds.yaml:7:15: feeds[1].interval: must be at most 604800 seconds (7 days) (got '8d')",
        "feeds.yaml:8:14: feeds[1].enabled: must be true or false (got 'yes')",
        "feeds.yaml:9:11: feeds[1].tags: must be a list of strings, e.g. [x] (got 'x')",
        "feeds.yaml:10:15: feeds[1].language: unknown language code 'xx' (use ISO 639, e.g. 'en', 'ru', 'ar')",
        "feeds.yaml:11:5: feeds[2].name: missing (required)",
        "feeds.yaml:11:10: feeds[2].url: duplicate of feeds[1] (line 5): https://B.example/",
        "feeds.yaml:12:5: feeds[3]: must be a mapping with 'name' and 'url' (got 'just a string')",
        "feeds.yaml:14:14: settings.timeout_s: must be at least 1 (got 0)",
        "feeds.yaml:15:3: settings.conect_timeout_s: unknown key; did you mean 'connect_timeout_s'?",
        "feeds.yaml:16:18: settings.max_redirects: must be a whole number (got 'many')",
        "feeds.yaml:17:1: fedds: unknown key; did you mean 'feeds'?",
    ]


@pytest.mark.parametrize(
    "url, why",
    [
        ("file:///etc/passwd", "scheme 'file:' is not allowed"),
        ("ftp://x.example/", "scheme 'ftp:' is not allowed"),
        ("javascript:alert(1)", "scheme 'javascript:' is not allowed"),
        ("https:///rss", "has no host"),
        ("x.example/rss", "must start with http:// or https://"),
        ("https://x.example:99999/", "not a valid URL"),
        ("https://x.example/a b", "must not contain spaces"),
        ("", "must not be empty"),
    ],
)
def test_validate_url(url, why):
    assert why in config.validate_url(url)


def test_validate_url_accepts_http_and_https():
    assert config.validate_url("http://x.example") is None
    assert config.validate_url("HTTPS://X.example/rss?a=1") is None


def test_duplicate_url_normalisation():
    text = "feeds:\n  - name: A\n    url: https://X.example:443/rss/\n  - name: B\n    url: HTTPS://x.example/rss#top\n"
    assert problems(text) == [
        "feeds.yaml:5:10: feeds[1].url: duplicate of feeds[0] (line 2): HTTPS://x.example/rss#top"
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "feeds.yaml:1:1: file is empty: expected a mapping with a 'feeds:' list"),
        ("# only a comment\n", "feeds.yaml:1:1: file is empty: expected a mapping with a 'feeds:' list"),
        ("- a\n- b\n", "feeds.yaml:1:1: top level must be a mapping with a 'feeds:' list (got a list)"),
        ("just text\n", "feeds.yaml:1:1: top level must be a mapping with a 'feeds:' list (got 'just text')"),
        ("settings: {}\n", "feeds.yaml:1:1: feeds: missing: add a 'feeds:' list of feeds"),
        ("\nfeeds: 3\n", "feeds.yaml:2:8: feeds: must be a list of feeds (got 3)"),
        ("feeds:\n", "feeds.yaml:1:1: feeds: must be a list of feeds (got nothing) (write 'feeds: []' for none)"),
        ("feeds: []\nsettings: [1]\n", "feeds.yaml:2:11: settings: must be a mapping (got a list)"),
    ],
)
def test_structure_errors(text, expected):
    assert problems(text) == [expected]


def test_yaml_syntax_error_is_one_line_precise_message():
    (line,) = problems("feeds:\n  - name: A\n    url: [https://a\n  - name: B\n")
    assert line.startswith("feeds.yaml:4:") and "YAML syntax error" in line


def test_duplicate_key_is_reported_with_line():
    (line,) = problems("feeds:\n  - name: A\n    url: https://a.example/\n    name: B\n")
    assert line.startswith("feeds.yaml:4:") and "duplicate key" in line


def test_settings_cross_field_check():
    assert problems("feeds: []\nsettings:\n  timeout_s: 5\n  connect_timeout_s: 10\n") == [
        "feeds.yaml:4:22: settings.connect_timeout_s: must not exceed timeout_s (5); the whole request has that deadline"
    ]


def test_file_not_found(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.yaml: file not found"):
        load(tmp_path / "nope.yaml")


def test_not_utf8_names_line_and_column(tmp_path):
    p = tmp_path / "feeds.yaml"
    p.write_bytes(b"feeds:\n  - name: Caf\xe9\n    url: https://a.example/\n")
    with pytest.raises(ConfigError) as info:
        load(p)
    assert str(info.value) == f"{p}:2:14: not valid UTF-8 (byte 0xe9); save the file as UTF-8"


def test_utf8_bom_is_accepted(tmp_path):
    p = tmp_path / "feeds.yaml"
    p.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert load(p).feeds[0].name == "A"


# --------------------------------------------------------------------- editing

EDITABLE = """\
# Header comment
settings:
  timeout_s: 20  # keep me

feeds:
  # first feed
  - name: A
    url: https://a.example/rss  # eol comment

  # --- section two ---
  - name: B
    url: https://b.example/rss
    tags: [x, y]
  - name: C
    url: https://c.example/rss
# trailing comment
"""


@pytest.fixture
def feeds_file(tmp_path):
    p = tmp_path / "feeds.yaml"
    p.write_text(EDITABLE)
    os.chmod(p, 0o640)
    return p


def test_add_feed_keeps_comments_order_and_mode(feeds_file):
    cfg = config.add_feed(feeds_file, {"url": "https://d.example/rss", "name": "D", "tags": ["z"], "interval": "1h"})
    text = feeds_file.read_text()
    assert text.startswith(EDITABLE.rstrip("\n").rsplit("# trailing", 1)[0])
    assert "  - name: D\n    url: https://d.example/rss\n    interval: 1h\n    tags: [z]\n" in text
    assert "# trailing comment" in text and "# keep me" in text
    assert [f.name for f in cfg.feeds] == ["A", "B", "C", "D"]
    assert os.stat(feeds_file).st_mode & 0o777 == 0o640
    assert load(feeds_file) == cfg


def test_update_and_set_enabled(feeds_file):
    config.update_feed(feeds_file, "HTTPS://b.example/rss/", {"interval": "30m", "tags": ["q"], "language": "en"})
    cfg = config.set_enabled(feeds_file, "https://a.example/rss", False)
    text = feeds_file.read_text()
    assert "  - name: A\n    url: https://a.example/rss  # eol comment\n    enabled: false\n" in text
    assert "    url: https://b.example/rss\n    interval: 30m\n    tags: [q]\n    language: en\n" in text
    assert "# --- section two ---" in text
    assert [(f.name, f.enabled, f.interval_s) for f in cfg.feeds] == [("A", False, 900), ("B", True, 1800), ("C", True, 900)]
    config.update_feed(feeds_file, "https://b.example/rss", {"interval": None})
    assert load(feeds_file).feeds[1].interval_s == DEFAULT_INTERVAL_S


def test_remove_feed_keeps_following_section_comment(feeds_file):
    cfg = config.remove_feed(feeds_file, "https://a.example/rss")
    text = feeds_file.read_text()
    assert [f.name for f in cfg.feeds] == ["B", "C"]
    assert "https://a.example" not in text and "eol comment" not in text
    assert "# --- section two ---" in text and text.index("section two") < text.index("name: B")
    config.remove_feed(feeds_file, "https://c.example/rss")
    assert "# trailing comment" in feeds_file.read_text()
    assert [f.name for f in load(feeds_file).feeds] == ["B"]


def test_unmodified_round_trip_of_real_file_is_byte_identical(tmp_path):
    p = tmp_path / "feeds.yaml"
    original = (ROOT / "feeds.yaml").read_text()
    p.write_text(original)
    url = load(p).feeds[0].url
    config.set_enabled(p, url, True)  # adds "enabled: true" to the first feed only
    new = p.read_text()
    assert new.replace("    enabled: true\n", "", 1) == original


@pytest.mark.parametrize(
    "edit",
    [
        lambda p: config.add_feed(p, {"name": "Dup", "url": "https://A.example/rss/"}),
        lambda p: config.add_feed(p, {"name": "E", "url": "ftp://e.example/"}),
        lambda p: config.add_feed(p, {"name": "E", "url": "https://e.example/", "intervall": 60}),
        lambda p: config.update_feed(p, "https://a.example/rss", {"interval": 5}),
        lambda p: config.update_feed(p, "https://nowhere.example/", {"interval": 600}),
        lambda p: config.remove_feed(p, "https://nowhere.example/"),
    ],
)
def test_failed_edit_leaves_file_byte_identical(feeds_file, edit):
    before = feeds_file.read_bytes()
    with pytest.raises(ConfigError):
        edit(feeds_file)
    assert feeds_file.read_bytes() == before
    assert sorted(x.name for x in feeds_file.parent.iterdir()) == ["feeds.yaml", "feeds.yaml.lock"]


def test_bad_file_is_never_rewritten(tmp_path):
    p = tmp_path / "feeds.yaml"
    p.write_text("feeds:\n  - name: A\n    url: https://a.example/\n    interval: 5\n")
    before = p.read_bytes()
    with pytest.raises(ConfigError, match=r"feeds\[0\]\.interval"):
        config.add_feed(p, {"name": "B", "url": "https://b.example/"})
    assert p.read_bytes() == before


def test_crash_during_replace_leaves_original_and_no_temp(feeds_file, monkeypatch):
    before = feeds_file.read_bytes()

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(ConfigError, match="No space left on device; file left as it was"):
        config.add_feed(feeds_file, {"name": "D", "url": "https://d.example/"})
    assert feeds_file.read_bytes() == before
    assert not [x for x in feeds_file.parent.iterdir() if x.name.endswith(".tmp")]


def test_change_on_disk_between_read_and_write_is_retried(feeds_file, monkeypatch):
    real_read = config.loader.read_bytes
    calls = []

    def editor_saves_once(path):
        data = real_read(path)
        calls.append(path)
        if len(calls) == 1:  # a text editor saves right after our first read
            Path(path).write_text(EDITABLE.replace("name: C", "name: C2"))
        return data

    monkeypatch.setattr(config.loader, "read_bytes", editor_saves_once)
    cfg = config.add_feed(feeds_file, {"name": "D", "url": "https://d.example/"})
    assert [f.name for f in cfg.feeds] == ["A", "B", "C2", "D"]  # the editor's change is kept


def test_file_that_keeps_changing_raises(feeds_file, monkeypatch):
    real_read = config.loader.read_bytes
    n = [0]

    def always_changing(path):
        data = real_read(path)
        n[0] += 1
        Path(path).write_text(EDITABLE.replace("name: C", f"name: C{n[0]}"))
        return data

    monkeypatch.setattr(config.loader, "read_bytes", always_changing)
    with pytest.raises(ConfigError, match="changed on disk"):
        config.add_feed(feeds_file, {"name": "D", "url": "https://d.example/"})


def test_concurrent_editors_lose_nothing(feeds_file):
    errors = []

    def worker(k):
        for i in range(5):
            try:
                config.add_feed(feeds_file, {"name": f"T{k}-{i}", "url": f"https://t{k}.example/{i}"})
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    names = {f.name for f in load(feeds_file).feeds}
    assert {f"T{k}-{i}" for k in range(3) for i in range(5)} <= names


def test_concurrent_processes(feeds_file):
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_add_many, args=(str(feeds_file), k)) for k in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0]
    names = {f.name for f in load(feeds_file).feeds}
    assert {f"P{k}-{i}" for k in range(2) for i in range(4)} <= names


def _add_many(path, k):
    for i in range(4):
        config.add_feed(path, {"name": f"P{k}-{i}", "url": f"https://p{k}.example/{i}"})


# --------------------------------------------------------------------- OPML


def test_opml_round_trip():
    cfg = loads(
        "feeds:\n  - name: 'A & \"B\" <C>'\n    url: https://a.example/rss?x=1&y=2\n    tags: [ukraine-russia, wire]\n"
        "    language: uk\n  - name: D\n    url: https://d.example/\n"
    )
    specs = config.from_opml(config.to_opml(cfg))
    assert specs == [
        {"name": 'A & "B" <C>', "url": "https://a.example/rss?x=1&y=2", "tags": ["ukraine-russia", "wire"], "language": "uk"},
        {"name": "D", "url": "https://d.example/"},
    ]


def test_from_opml_flattens_folders_and_categories(tmp_path):
    opml = """<?xml version="1.0"?>
<opml version="1.0"><head/><body>
  <outline text="Europe">
    <outline text="Ukraine">
      <outline type="rss" text="KI" xmlUrl="https://ki.example/rss" category="/News/War,osint"/>
    </outline>
  </outline>
  <outline type="rss" title="Top" xmlurl="https://top.example/"/>
  <outline type="rss" title="Top again" xmlUrl="https://TOP.example"/>
</body></opml>"""
    specs = config.from_opml(opml)
    assert specs == [
        {"name": "KI", "url": "https://ki.example/rss", "tags": ["Europe", "Ukraine", "War", "osint"]},
        {"name": "Top", "url": "https://top.example/"},
    ]
    p = tmp_path / "feeds.yaml"
    p.write_text("feeds: []\n")
    cfg = config.add_feeds(p, specs)
    assert [f.url for f in cfg.feeds] == ["https://ki.example/rss", "https://top.example/"]
    assert "feeds:\n  - name: KI" in p.read_text() or "feeds:\n- name: KI" in p.read_text()


@pytest.mark.parametrize(
    "doc",
    [
        # billion laughs
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        "<opml><body><outline text='&lol2;' xmlUrl='https://x.example/'/></body></opml>",
        # external entity (XXE)
        '<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        "<opml><body><outline text='&xxe;' xmlUrl='https://x.example/'/></body></opml>",
    ],
)
def test_hostile_opml_refused(doc):
    with pytest.raises(ConfigError, match="DOCTYPE and entity declarations are not allowed"):
        config.from_opml(doc)


def test_malformed_and_foreign_xml_refused():
    with pytest.raises(ConfigError, match=r"feeds\.opml:1:\d+: not well-formed XML"):
        config.from_opml("<opml><body></opml>")
    with pytest.raises(ConfigError, match="not an OPML document"):
        config.from_opml("<rss><channel/></rss>")
    with pytest.raises(ConfigError, match="undefined entity"):
        config.from_opml("<opml><body><outline text='&x;'/></body></opml>")


def test_a_user_agent_written_by_the_editor_reads_back_the_same(feeds_file):
    agent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 # not a comment: yes"
    config.add_feed(feeds_file, {"name": "D", "url": "https://d.example/rss", "language": "ru", "user_agent": agent})
    assert load(feeds_file).feeds[-1].user_agent == agent
    config.update_feed(feeds_file, "https://d.example/rss", {"user_agent": None})
    assert load(feeds_file).feeds[-1].user_agent is None
    assert "# Header comment" in feeds_file.read_text()


def test_connect_timeout_alone_is_checked_against_the_default_timeout():
    # Settings is a slots dataclass: its class attribute is a descriptor, not the default 20 s
    assert loads("feeds:\n  - name: A\n    url: https://a.example/\nsettings:\n  connect_timeout_s: 5\n").settings.connect_timeout_s == 5
    with pytest.raises(ConfigError, match=r"connect_timeout_s: must not exceed timeout_s \(20\)"):
        loads("feeds:\n  - name: A\n    url: https://a.example/\nsettings:\n  connect_timeout_s: 50\n")
