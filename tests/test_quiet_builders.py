"""Builders whose output never shows a capture run no snippet and warn about none; doctest and
layertrace live side by side."""

from __future__ import annotations

import json
import shutil
from io import StringIO
from pathlib import Path

import pytest


@pytest.fixture
def quiet_root(rootdir, tmp_path, monkeypatch):
    src = tmp_path / "src"
    shutil.copytree(rootdir / "test-quiet", src)
    marker = tmp_path / "ran"
    monkeypatch.setenv("LT_MARKER", str(marker))
    return src, marker


def build(make_app, builder, src):
    status, warnings = StringIO(), StringIO()
    app = make_app(builder, srcdir=src, status=status, warning=warnings)
    app.build()
    return app, status.getvalue(), warnings.getvalue()


@pytest.mark.parametrize("builder", ["dummy", "linkcheck", "doctest"])
def test_quiet_builders_run_nothing_and_warn_nothing(make_app, quiet_root, builder):
    src, marker = quiet_root
    app, status, warnings = build(make_app, builder, src)
    assert warnings == "", warnings
    assert not marker.exists(), "the snippet ran"
    assert "snippet run" not in status
    if builder == "linkcheck":  # no CPython source or errno link was generated to be checked
        report = Path(app.outdir, "output.json").read_text("utf-8")
        assert [json.loads(line) for line in report.splitlines()] == []
    if builder == "doctest":
        summary = Path(app.outdir, "output.txt").read_text("utf-8")
        assert "1 passed" in summary and "0 failures in tests" in summary, summary


def test_html_of_the_same_root_runs_and_warns(make_app, quiet_root):
    """The control: the quiet builds above are quiet because of the builder, not the root."""
    src, marker = quiet_root
    app, status, warnings = build(make_app, "html", src)
    assert "1 snippet run" in status
    assert marker.exists()
    assert "expected ConnectionRefusedError, but the snippet raised ValueError" in warnings
    assert warnings.count("WARNING") == 1, warnings
    html = Path(app.outdir, "index.html").read_text("utf-8")
    assert "42" in html and 'class="layertrace' in html
