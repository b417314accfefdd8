"""Every other builder builds the same page without a warning and keeps the layer names."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

BUILDERS = ("text", "latex", "man", "epub", "xml", "texinfo")


@pytest.mark.parametrize("builder", BUILDERS)
def test_other_builders_build_cleanly_and_keep_layers(make_app, rootdir, tmp_path, builder):
    from io import StringIO

    src = tmp_path / "src"
    shutil.copytree(rootdir / "test-clean", src)
    warnings = StringIO()
    app = make_app(builder, srcdir=src, warning=warnings)
    app.build()
    assert warnings.getvalue() == "", warnings.getvalue()
    out = "\n".join(
        p.read_text("utf-8", "replace")
        for p in Path(app.outdir).rglob("*")
        if p.is_file() and p.suffix in {".txt", ".tex", ".1", ".xhtml", ".xml", ".texi"}
    )
    for layer in ("application", "transport", "os"):
        assert layer in out
    assert "ConnectionRefusedError" in out
    if builder == "text":
        assert "[application · smtplib]" in out
        assert "[transport · socket]" in out


def test_an_incremental_html_build_reads_only_the_edited_page(tmp_path):
    """The extension's own static folder must not make every build a full one ("the
    configuration has changed: html_static_path"), or sphinx-autobuild re-reads every page."""
    import subprocess
    import sys

    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text('extensions = ["sphinx_layertrace"]\n', encoding="utf-8")
    (src / "index.rst").write_text("Home\n====\n\n.. toctree::\n\n   other\n", encoding="utf-8")
    (src / "other.rst").write_text("Other\n=====\n\n.. layertrace::\n\n   1/0\n", "utf-8")

    def build() -> str:
        argv = [sys.executable, "-m", "sphinx", "-b", "html", str(src), str(tmp_path / "out")]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True)
        return done.stdout

    build()
    (src / "other.rst").write_text("Other\n=====\n\n.. layertrace::\n\n   2/0\n", "utf-8")
    again = build()
    assert "configuration has changed" not in again
    assert "0 added, 1 changed, 0 removed" in again
