import subprocess
import sys

import pipeline


def test_all_names_resolve():
    for name in pipeline.__all__:
        assert getattr(pipeline, name) is not None, name


def test_all_lists_exactly_the_public_api():
    assert sorted(pipeline.__all__) == sorted(
        [
            "Article", "ConfigError", "EscalationWatchError", "FeedSpec", "FeedsConfig", "FetchError",
            "ParseError", "ScoredArticle", "Settings", "Signal", "Store", "StoreError", "load_config",
            "parse_feed", "poll_once", "score_article", "score_text", "__version__",
        ]
    )  # fmt: skip


def test_import_pipeline_does_not_import_ui_libraries():
    code = (
        "import sys, pipeline, pipeline.poller, pipeline.store, pipeline.cli;"
        "bad = [m for m in ('streamlit', 'plotly') if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
