"""What a reader sees: real builds of small roots, asserting on the written pages."""

from __future__ import annotations

import platform
import re
from pathlib import Path

import pytest
from sphinxver import typed, uncoloured

VERSION = platform.python_version()


def html_of(app, name: str = "index") -> str:
    return uncoloured((Path(app.outdir) / f"{name}.html").read_text(encoding="utf-8"))


def blocks(html: str) -> list[str]:
    return re.findall(
        r'<div class="layertrace[^"]*"[^>]*>.*?<p class="lt-meta">.*?</p>', html, re.S
    )


@pytest.mark.sphinx("html", testroot="seed")
def test_seed_page_shows_layers_links_and_drift(app, warning):
    app.build()
    html = html_of(app)
    refused, empty = blocks(html)
    # the traceback with every layer of the story, down to the kernel
    for layer in ("user", "application", "transport", "os"):
        assert f'data-layer="{layer}"' in refused
    assert "ConnectionRefusedError: [Errno 111] Connection refused" in refused
    assert (
        "connect((&#x27;127.0.0.1&#x27;, 464))" in refused
        or "connect(('127.0.0.1', 464))" in refused
    )
    assert "https://docs.python.org/3/library/errno.html#errno.ECONNREFUSED" in refused
    assert f"https://github.com/python/cpython/blob/v{VERSION}/Lib/smtplib.py#L" in refused
    assert f"CPython {VERSION}" in refused
    # the empty host never connects: the page says so and the build warns at the directive
    assert "did not raise" in empty
    assert "No exception" in empty
    warnings = warning.getvalue()
    drift = (
        r"index\.rst:1[5-9]: WARNING: layertrace: expected ConnectionRefusedError, "
        r"but the snippet did not raise" + typed("layertrace.drift")
    )
    assert re.search(drift, warnings), warnings
    assert warnings.count("WARNING") == 1, warnings
    # :name: is a :ref: target; without :caption: the page shows no caption, and the reference
    # reads as the snippet's failing call
    assert re.search(r'href="#seed-refused"><span class="std std-ref">smtplib\.SMTP\(', html)
    assert "code-block-caption" not in html


@pytest.mark.sphinx("html", testroot="seed")
def test_no_build_paths_in_output(app):
    app.build()
    html = html_of(app)
    import os
    import sys
    import tempfile

    for path in {
        os.path.expanduser("~"),
        sys.prefix,
        sys.base_prefix,
        tempfile.gettempdir(),
        str(app.srcdir),
    }:
        assert path not in html, path


TITLES = [
    (
        "import socket\nsocket.create_connection(\n    ('127.0.0.1', 9),\n)\n",
        "socket.create_connection(",
    ),
    ("x = 1\n1 / x  # fails\n# a closing remark\n", "1 / x  # fails"),
    ("@decorator\ndef f():\n    pass\n", "def f():"),
    ("print(1\n# unclosed\n", "print(1"),
    ("# only a comment\n", "# only a comment"),
]


def test_a_name_without_caption_is_titled_by_its_last_statement(make_app, tmp_path):
    """The :ref: text of a caption-less :name:: the last statement's first line, not ``)``."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        f'extensions = ["sphinx_layertrace"]\nlayertrace_cache_dir = {str(tmp_path / "c")!r}\n'
    )
    body = ["Titles", "======", ""]
    for number, (code, _title) in enumerate(TITLES):
        body += [".. layertrace::", f"   :name: snippet-{number}", ""]
        body += ["   " + line if line else "" for line in code.splitlines()]
        body += [""]
    body += ["References", "----------", ""]
    body += [f"* :ref:`snippet-{number}`" for number in range(len(TITLES))]
    (src / "index.rst").write_text("\n".join(body) + "\n")
    app = make_app("text", srcdir=src)
    app.build()
    text = (Path(app.outdir) / "index.txt").read_text(encoding="utf-8")
    references = text[text.index("\nReferences\n") :]
    listed = [line[2:] for line in references.splitlines() if line.startswith("* ")]
    assert listed == [title for _code, title in TITLES], references
