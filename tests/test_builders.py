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
