"""Every case of the directive, built for real and read the way a reader would."""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from sphinxver import typed, uncoloured


def block_after(html: str, marker: str) -> str:
    start = html.index(marker)
    end = html.find("lt-meta", start)
    return html[start:end]


@pytest.fixture(scope="module")
def cases(rootdir, tmp_path_factory):
    """One html build of the cases root, shared by the tests that read it."""
    from io import StringIO

    from sphinx.testing.util import SphinxTestApp

    src = tmp_path_factory.mktemp("cases") / "src"
    shutil.copytree(rootdir / "test-cases", src)
    os.environ["LAYERTRACE_TEST_CACHE"] = str(src.parent / "cache")
    warnings = StringIO()
    app = SphinxTestApp("html", srcdir=src, warning=warnings)
    try:
        app.build()
        page = uncoloured((Path(app.outdir) / "index.html").read_text("utf-8"))
        yield app, page, warnings.getvalue()
    finally:
        app.cleanup()


def test_urllib_chain_shows_both_exceptions(cases):
    _, html, _ = cases
    block = block_after(html, "urllib against")
    assert "ConnectionRefusedError: [Errno 111] Connection refused" in block
    assert "During handling of the above exception, another exception occurred:" in block
    assert "urllib.error.URLError: &lt;urlopen error [Errno 111] Connection refused&gt;" in block


def test_tls_frames_are_tls(cases):
    _, html, _ = cases
    block = block_after(html, "plain-text server")
    assert re.search(r'data-layer="tls"[^>]*>[^<]*File "<a[^>]*>&lt;stdlib&gt;/ssl.py', block)
    assert "WRONG_VERSION_NUMBER" in block
    assert "OpenSSL was asked" in block


def test_asyncio_refusal_reaches_the_kernel(cases):
    _, html, _ = cases
    block = block_after(html, "asyncio:")
    assert "selector_events.py" in block
    assert 'data-layer="os"' in block
    assert "Connect call failed" in block


def test_script_style_has_no_prompts_and_names_the_file(cases):
    _, html, _ = cases
    block = block_after(html, "Script style")
    assert "&gt;&gt;&gt;" not in block
    assert 'File "client.py", line 6, in &lt;module&gt;' in block
    assert re.search(
        r'data-layer="user"[^>]*>\s*File "client.py"', block
    )  # the script is the user's
    assert "return socket.create_connection" in block


def test_hide_code_and_markup_in_messages_is_text(cases):
    _, html, _ = cases
    block = block_after(html, "Only the outcome")
    assert "lt-code" not in block
    assert "ValueError: &lt;script&gt;alert(1)&lt;/script&gt;" in block
    assert "<script>alert" not in html


def test_timeout_and_crash_warn_at_their_lines(cases):
    _, html, warnings = cases
    assert re.search(
        r"index\.rst:\d+: WARNING: layertrace: snippet timed out after 1 s"
        + typed("layertrace.timeout"),
        warnings,
    )
    assert re.search(
        r"index\.rst:\d+: WARNING: layertrace: snippet crashed with SIGSEGV"
        + typed("layertrace.crash"),
        warnings,
    )
    assert sum("WARNING" in w and "dns.md" not in w for w in warnings.splitlines()) == 2, warnings
    hang = block_after(html, "never ends")
    assert "Timed out after 1 s." in hang
    # the session keeps its prompts although the child never reported its statements
    text = re.sub(r"<[^>]+>", "", hang)
    assert "&gt;&gt;&gt; while True:" in text
    assert "...     pass" in text
    assert "crashed with SIGSEGV" in block_after(html, "crashes the interpreter")


def test_myst_fence_explains_the_eai_code(cases):
    app, _, _ = cases
    html = uncoloured((Path(app.outdir) / "dns.html").read_text("utf-8"))
    # both lookups: a name the C library refuses itself, so no DNS server is asked (offline too)
    assert html.count("socket.gaierror: [Errno -2] Name or service not known") == 2
    assert "EAI_NONAME" in html
    assert 'data-layer="transport"' in html


def test_myst_yaml_option_block_is_read_like_myst_reads_it(cases):
    app, _, _ = cases
    html = uncoloured((Path(app.outdir) / "dns.html").read_text("utf-8"))
    block = block_after(html, "Looked up by a script")  # caption
    assert "&gt;&gt;&gt;" not in block  # style: script
    assert 'getaddrinfo("mail.example.invalid ", 443)' in re.sub(r"<[^>]+>", "", block)
    assert "expect:" not in block and "---" not in block  # the block is options, not code


def test_myst_attribute_blocks_and_code_on_the_opening_line(cases):
    app, _, warnings = cases
    html = uncoloured((Path(app.outdir) / "dns.html").read_text("utf-8"))
    assert re.search(r'<div class="literal-block-wrapper[^"]*" id="refused-here">', html)
    assert '<div class="layertrace extra-class"' in html
    block = block_after(html, "Named by its attributes")
    assert "ConnectionRefusedError" in block
    mine = [line for line in warnings.splitlines() if "dns.md" in line]
    assert len(mine) == 1, warnings  # MyST's own advice about the opening line, as MyST says it
    assert "Splitting content across first line" in mine[0]
    assert re.search(typed("myst.directive_parse"), mine[0])
    text = re.sub(r"<[^>]+>", "", html)
    last = text[text.rindex("&gt;&gt;&gt; import socket") :]
    assert "ConnectionRefusedError" in last and "SyntaxError" not in last


def test_no_machine_path_in_any_output_file(cases):
    app, _, _ = cases
    forbidden = {os.path.expanduser("~"), sys.prefix, sys.base_prefix, tempfile.gettempdir()}
    forbidden.add(str(Path(__file__).resolve().parent.parent))
    for path in Path(app.outdir).rglob("*.html"):
        text = path.read_text("utf-8")
        for bad in forbidden:
            assert bad not in text, (path, bad)
