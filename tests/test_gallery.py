"""The gallery pages (docs/gallery), built for real: what the pages show of each library's stack.

One HTML build and one text build of every gallery page whose library is installed, plus a page
whose secrets come from ``layertrace_env`` under a name that hygiene does not treat as secret, so
only the child's argument redaction keeps them out. The captures are read back from the build's
own cache: they are what the pages rendered.
"""

from __future__ import annotations

import base64
import html as html_mod
import importlib.util
import json
import re
import shutil
from io import StringIO
from pathlib import Path

import pytest

from sphinx_layertrace.meaning.layers import module_from_path
from sphinx_layertrace.meaning.stacks import (
    STACKS,
    component_of_module,
    is_glue,
    stdlib_component,
)
from sphinx_layertrace.model import Capture, ExceptionInfo

GALLERY = Path(__file__).resolve().parent.parent / "docs" / "gallery"
SECRET = "hunter2-from-the-environment"

# page -> modules it needs in the build's interpreter
PAGES = {
    "requests": ("requests",),
    "urllib3": ("urllib3",),
    "httpx": ("httpx",),
    "httpx-async": ("httpx", "anyio"),
    "aiohttp": ("aiohttp",),
    "websockets": ("websockets",),
    "paramiko": ("paramiko",),
    "dnspython": ("dns",),
    "grpc": ("grpc",),
}
SECRET_PAGE = """# Secrets

```{layertrace}
:style: script
:expect: requests.exceptions.ConnectionError
import os, requests
requests.get("http://127.0.0.1:9/", timeout=2, auth=("user", os.environ["LOGIN_WORD"]))
```

```{layertrace}
:style: script
:expect: httpx.ConnectError
import os, httpx
httpx.get("http://127.0.0.1:9/", timeout=2, auth=("user", os.environ["LOGIN_WORD"]))
```

```{layertrace}
:style: script
:expect: paramiko.ssh_exception.NoValidConnectionsError
import os, paramiko
paramiko.SSHClient().connect("127.0.0.1", 9, "user", os.environ["LOGIN_WORD"], timeout=2)
```
"""


def installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(name) is not None for name in modules)


AVAILABLE = [page for page, needs in PAGES.items() if installed(*needs)]


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    """HTML and text builds of the installed libraries' pages, and the captures they rendered."""
    from sphinx.testing.util import SphinxTestApp

    if not AVAILABLE:
        pytest.skip("no gallery library is installed")
    base = tmp_path_factory.mktemp("gallery")
    src = base / "src"
    (src / "gallery").mkdir(parents=True)
    for page in AVAILABLE:
        shutil.copy(GALLERY / f"{page}.md", src / "gallery" / f"{page}.md")
    pages = [f"gallery/{page}" for page in AVAILABLE]
    if installed("requests", "httpx", "paramiko"):
        (src / "secret.md").write_text(SECRET_PAGE, "utf-8")
        pages.append("secret")
    toctree = "\n".join(pages)
    (src / "index.md").write_text(f"# Gallery\n\n```{{toctree}}\n{toctree}\n```\n", "utf-8")
    cache = base / "cache"
    (src / "conf.py").write_text(
        'extensions = ["myst_parser", "sphinx_layertrace"]\n'
        "layertrace_timeout = 10\n"
        f"layertrace_cache_dir = {str(cache)!r}\n"
        f"layertrace_env = {{'LOGIN_WORD': {SECRET!r}}}\n",
        "utf-8",
    )
    built = {}
    for builder in ("html", "text", "latex"):
        warnings = StringIO()
        app = SphinxTestApp(builder, srcdir=src, builddir=base / "build", warning=warnings)
        try:
            app.build()
        finally:
            app.cleanup()
        built[builder] = (Path(app.outdir), warnings.getvalue())
    captures = [
        Capture.from_dict(json.loads(path.read_text("utf-8"))["capture"])
        for path in sorted(cache.glob("*.json"))
    ]
    return {"src": src, "base": base, "built": built, "captures": captures, "cache": cache}


def need(*pages: str) -> None:
    missing = [page for page in pages if page not in AVAILABLE]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")


def capture_of(gallery, fragment: str) -> Capture:
    found = [c for c in gallery["captures"] if fragment in c.code]
    assert len(found) == 1, f"{len(found)} captures contain {fragment!r}"
    return found[0]


def chain(exc: ExceptionInfo) -> list[tuple[str, str]]:
    """(qualified type, how it came from the one below it), innermost first, hidden links too."""
    out = []
    while exc is not None:
        if exc.cause is not None:
            out.append((exc.qualified, "cause"))
            exc = exc.cause
        elif exc.context is not None:
            out.append((exc.qualified, "hidden context" if exc.suppress_context else "context"))
            exc = exc.context
        else:
            out.append((exc.qualified, "raised"))
            exc = None
    return out[::-1]


def every_exception(exc: ExceptionInfo) -> list[ExceptionInfo]:
    """The exception and all it chains to, a context hidden by ``from None`` included."""
    out = []
    todo = [exc]
    while todo:
        current = todo.pop()
        if current is not None and all(current is not seen for seen in out):
            out.append(current)
            todo.extend((current.cause, current.context, *current.exceptions))
    return out


def descent(exc: ExceptionInfo) -> list:
    """The frames from the user's line down: the outer traceback, then what it was raised from."""
    frames = []
    while exc is not None:
        frames.extend(exc.frames)
        exc = exc.cause or exc.context
    return frames


def component(module: str, origin: str) -> str:
    if origin == "user" or module == "__main__":
        return "user"
    mapped = component_of_module(module)
    if mapped:
        return mapped[1]
    return stdlib_component(module) or f"?{module}"


def path_components(capture: Capture) -> list[str]:
    out: list[str] = []
    for frame in descent(capture.exception):
        name = component(frame.module, frame.origin)
        if not out or out[-1] != name:
            out.append(name)
    return out


def test_every_gallery_page_builds_without_warnings(gallery):
    for builder, (_, warnings) in gallery["built"].items():
        assert warnings.strip() == "", f"{builder}: {warnings}"
    html = gallery["built"]["html"][0]
    for page in AVAILABLE:
        text = (html / "gallery" / f"{page}.html").read_text("utf-8")
        assert text.count('class="layertrace"') >= 1
        assert 'data-outcome="raised"' in text


def test_every_frame_of_a_gallery_library_has_a_component(gallery):
    """Every library frame the gallery captured maps to a component of STACKS or the stdlib."""
    unmapped = set()
    for capture in gallery["captures"]:
        assert capture.outcome == "raised", capture.code
        for exc in every_exception(capture.exception):
            for frame in exc.frames:
                if component(frame.module, frame.origin).startswith("?"):
                    unmapped.add(frame.module)
    assert unmapped <= {"h11._state", "h11._connection"}, unmapped  # h11 is httpcore's parser


def test_every_stacks_entry_is_exercised_by_a_gallery_capture(gallery):
    if len(AVAILABLE) < len(PAGES):
        pytest.skip("some gallery libraries are not installed")
    used = set()
    for capture in gallery["captures"]:
        for exc in every_exception(capture.exception):
            for frame in exc.frames:
                name = frame.module
                while name and name not in STACKS:
                    name = name.rpartition(".")[0]
                if name:
                    used.add(name)
    assert set(STACKS) - used == set()


def test_glue_frames_are_the_ones_that_pass_exceptions_on(gallery):
    need("httpx", "urllib3")
    glue = {
        (f.module, f.name)
        for c in gallery["captures"]
        for e in every_exception(c.exception)
        for f in e.frames
        if is_glue(f.module, f.name)
    }
    assert ("contextlib", "__exit__") in glue
    assert ("httpcore._exceptions", "map_exceptions") in glue
    assert ("httpx._transports.default", "map_httpcore_exceptions") in glue
    assert ("urllib3.util.util", "reraise") in glue


def test_requests_path_and_four_conversions(gallery):
    need("requests")
    capture = capture_of(gallery, 'requests.get("http://127.0.0.1:9/", timeout=2, auth=("user", "h')
    assert path_components(capture) == [
        "user",
        "requests",
        "urllib3 pool",
        "urllib3 connection",
        "http.client",
        "urllib3 connection",
        "urllib3 socket",
    ]
    assert chain(capture.exception) == [
        ("ConnectionRefusedError", "raised"),
        ("urllib3.exceptions.NewConnectionError", "cause"),
        ("urllib3.exceptions.MaxRetryError", "cause"),
        ("requests.exceptions.ConnectionError", "context"),
    ]


def test_requests_arguments_at_the_top_and_at_the_transport(gallery):
    need("requests")
    capture = capture_of(gallery, 'requests.get("http://127.0.0.1:9/", timeout=2, auth=("user", "h')
    asked = {
        (f.module, f.name): dict(f.arguments) for f in descent(capture.exception) if f.arguments
    }
    assert asked[("requests.api", "get")] == {
        "url": "'http://127.0.0.1:9/'",
        "params": "None",
        "kwargs": "{'timeout': 2, 'auth': ***}",
    }
    transport = asked[("urllib3.util.connection", "create_connection")]
    assert transport["address"] == "('127.0.0.1', 9)"
    assert transport["timeout"] == "2"
    assert [(e.event, e.args) for e in capture.syscalls][-1] == (
        "socket.connect",
        "('127.0.0.1', 9)",
    )


def html_block(gallery, page: str, index: int = 0) -> str:
    html = (gallery["built"]["html"][0] / "gallery" / f"{page}.html").read_text("utf-8")
    blocks = html.split('class="layertrace"')[1:]
    return blocks[index].split('class="lt-meta"')[0]


def html_frames(block: str) -> list[tuple[str, str, str, str]]:
    """(layer, component, module, function) of each traceback frame, in the printed order."""
    frames = re.findall(
        r'<span class="lt-frame" data-layer="(\w+)"(?: data-component="([^"]*)")?>  '
        r'File "(?:<a[^>]*>)?([^"<]+)(?:</a>)?", line \d+, in (\S+?)<',
        block,
    )
    return [
        (layer, component, module_from_path(html_mod.unescape(path)), html_mod.unescape(name))
        for layer, component, path, name in frames
    ]


def picture(block: str) -> list[str]:
    """The stack picture's rows, top to bottom: 'layer · component'."""
    return re.findall(r'<span class="lt-stack-layer">([^<]+)</span>', block)


def conversions(block: str) -> list[str]:
    items = re.findall(
        r"<li><p>(.*?)</p></li>", block.rsplit('class="lt-conversions', maxsplit=1)[-1]
    )
    return [re.sub(r"\s+", " ", html_mod.unescape(re.sub(r"<[^>]+>", "", i))) for i in items]


def test_requests_html_frames_in_order(gallery):
    need("requests")
    block = html_block(gallery, "requests")
    frames = html_frames(block)
    assert frames[0][2:] == ("urllib3.connection", "_new_conn")
    assert ("transport", "urllib3.util.connection", "create_connection") in [
        (layer, module, name) for layer, _, module, name in frames
    ]
    assert frames[-1][2:] == ("requests.adapters", "send")
    assert 'data-layer="os"' in block
    wording = re.findall(r"The above exception was the direct cause|During handling", block)
    assert wording == [
        "The above exception was the direct cause",
        "The above exception was the direct cause",
        "During handling",
    ]
    # every library frame shows its component (once the rendering carries them)
    if "data-component=" in block:
        for layer, shown, module, _ in frames:
            if module != "example":
                assert shown == component(module, "site"), (layer, shown, module)


def test_requests_picture_and_conversions_in_the_html(gallery):
    need("requests")
    block = html_block(gallery, "requests")
    if 'class="lt-conversions' not in block:
        pytest.skip("the rendering does not draw the descent yet")
    assert picture(block) == [
        "user",
        "application · requests",
        "application · urllib3 pool",
        "application · urllib3 connection",
        "application · http.client",
        "application · urllib3 connection",
        "transport · urllib3 socket",
        "os · kernel",
    ]
    assert conversions(block) == [
        "ConnectionRefusedError → urllib3.exceptions.NewConnectionError (cause: raise … from) "
        "in urllib3.connection.HTTPConnection._new_conn",
        "urllib3.exceptions.NewConnectionError → urllib3.exceptions.MaxRetryError "
        "(cause: raise … from) in urllib3.util.retry.Retry.increment",
        "urllib3.exceptions.MaxRetryError → requests.exceptions.ConnectionError "
        "(context: raised while handling it) in requests.adapters.HTTPAdapter.send",
    ]
    text = (gallery["built"]["text"][0] / "gallery" / "requests.txt").read_text("utf-8")
    assert "* transport · urllib3 socket:" in text
    assert (
        "(context: raised while\n   handling it)" in text
        or "(context: raised while handling" in text
    )


def test_httpx_conversions_keep_the_hidden_refusal(gallery):
    need("httpx")
    capture = capture_of(gallery, 'httpx.get("http://127.0.0.1:9/", timeout=2, auth=("user", "')
    assert chain(capture.exception) == [
        ("ConnectionRefusedError", "raised"),
        ("httpcore.ConnectError", "hidden context"),
        ("httpx.ConnectError", "cause"),
    ]
    assert path_components(capture) == [
        "user",
        "httpx",
        "httpx transport",
        "contextlib",
        "httpx transport",
        "httpcore pool",
        "httpcore connection",
        "httpcore backend",
        "contextlib",
        "httpcore",
        "httpcore backend",
        "socket",
    ]
    text = (gallery["built"]["text"][0] / "gallery" / "httpx.txt").read_text("utf-8")
    assert "httpx.ConnectError: [Errno 111] Connection refused" in text


def test_httpx_async_goes_through_anyio(gallery):
    need("httpx-async")
    capture = capture_of(gallery, "httpx.AsyncClient(timeout=2)")
    path = path_components(capture)
    assert path[:2] == ["user", "asyncio"]
    assert path.index("httpcore backend") < path.index("anyio") < len(path) - 1
    assert path[-1] == "asyncio"
    assert [t for t, _ in chain(capture.exception)][-2:] == [
        "httpcore.ConnectError",
        "httpx.ConnectError",
    ]


def test_aiohttp_connector_error_over_the_refusal(gallery):
    need("aiohttp")
    capture = capture_of(gallery, 'session.get("http://127.0.0.1:9/")')
    assert chain(capture.exception) == [
        ("ConnectionRefusedError", "raised"),
        ("aiohttp.client_exceptions.ClientConnectorError", "cause"),
    ]
    path = path_components(capture)
    assert path[path.index("aiohttp client") :] == [
        "aiohttp client",
        "aiohttp connector",
        "aiohappyeyeballs",
        "asyncio",
    ]
    (flat,) = capture.exception.flattened
    assert (flat.source, flat.errno_name, flat.same_as) == (
        "aiohttp ClientConnectorError.os_error",
        "ECONNREFUSED",
        "cause",
    )


def test_paramiko_flattened_errors_per_address(gallery):
    need("paramiko")
    capture = capture_of(gallery, 'password="hunter2-gallery-secret"')
    assert chain(capture.exception) == [
        ("paramiko.ssh_exception.NoValidConnectionsError", "raised")
    ]
    (flat,) = capture.exception.flattened
    assert (flat.where, flat.type, flat.errno_name) == (
        "127.0.0.1:9",
        "ConnectionRefusedError",
        "ECONNREFUSED",
    )
    banner = capture_of(gallery, "banner_timeout=2")
    assert "paramiko transport" in path_components(banner)


def test_dnspython_reads_each_servers_error(gallery):
    need("dnspython")
    capture = capture_of(gallery, "resolver.lifetime = 1.0")
    assert capture.exception.qualified == "dns.resolver.LifetimeTimeout"
    assert path_components(capture) == ["user", "dnspython resolver"]
    rows = capture.exception.flattened
    assert rows and all(r.where.startswith("Do53:127.0.0.1@") for r in rows)
    assert {(r.module, r.type) for r in rows} == {("dns.exception", "Timeout")}
    # the only packets: to loopback
    assert all("127.0.0.1" in e.args for e in capture.syscalls if e.event == "socket.sendto")
    query = capture_of(gallery, "dns.query.udp(")
    assert path_components(query) == ["user", "dnspython query"]


def test_grpc_c_core_words_are_read_from_the_exception(gallery):
    need("grpc")
    capture = capture_of(gallery, 'channel.unary_unary("/layertrace.Echo/Say")')
    assert path_components(capture) == ["user", "grpc channel"]
    (flat,) = capture.exception.flattened
    assert (flat.module, flat.type) == ("grpc.StatusCode", "UNAVAILABLE")
    assert "127.0.0.1:9" in flat.message


def test_websockets_pass_the_refusal_through(gallery):
    need("websockets")
    for fragment, bottom in (("websocket.recv()", "asyncio"), ("websockets.sync", "socket")):
        capture = capture_of(gallery, fragment)
        assert chain(capture.exception) == [("ConnectionRefusedError", "raised")]
        path = path_components(capture)
        assert "websockets client" in path and path[-1] == bottom


def test_a_secret_argument_is_shown_nowhere(gallery):
    """The password reached requests, httpx and paramiko as an argument; no output holds it."""
    need("requests", "httpx", "paramiko")
    secret = capture_of(gallery, 'requests.get("http://127.0.0.1:9/", timeout=2, auth=("user", os')
    get = next(f for f in descent(secret.exception) if f.name == "get")
    assert dict(get.arguments)["kwargs"] == "{'timeout': 2, 'auth': ***}"
    forms = [SECRET, base64.b64encode(f"user:{SECRET}".encode()).decode()]
    roots = [gallery["built"][builder][0] for builder in ("html", "text", "latex")]
    roots.append(gallery["cache"])
    roots.append(gallery["base"] / "build" / "doctrees")
    checked = 0
    for root in roots:
        for path in root.rglob("*"):
            # Sphinx pickles conf.py's values (layertrace_env among them) into its environment
            if path.is_file() and path.name != "environment.pickle":
                data = path.read_bytes()
                checked += 1
                for form in forms:
                    assert form.encode() not in data, f"{form!r} in {path}"
    assert checked > 20


def test_a_certificate_failure_ends_at_openssl_in_tls(gallery):
    need("requests")
    capture = capture_of(gallery, 'requests.get(f"https://127.0.0.1:{TLS_PORT}/"')
    assert chain(capture.exception) == [
        ("ssl.SSLCertVerificationError", "raised"),
        ("urllib3.exceptions.SSLError", "context"),
        ("urllib3.exceptions.MaxRetryError", "cause"),
        ("requests.exceptions.SSLError", "context"),
    ]
    assert path_components(capture)[-3:] == ["urllib3 connection", "urllib3 TLS", "ssl"]
    block = html_block(gallery, "requests", 1)
    assert "certificate verify failed: self-signed certificate" in block
    innermost = every_exception(capture.exception)[-1]
    assert innermost.qualified == "ssl.SSLCertVerificationError"
    assert (innermost.verify_code, innermost.verify_message) == (18, "self-signed certificate")
    assert picture(block)[-1] == "tls · OpenSSL"
    assert 'data-layer="os"' not in block  # OpenSSL answered, not the kernel
    (row,) = re.findall(
        r'<span class="lt-frame lt-kernel" data-layer="tls" ([^>]*)>(.*?)\n</span>', block
    )
    assert row[0] == 'aria-label="OpenSSL\'s answer"'
    assert "CERTIFICATE_VERIFY_FAILED (verify code 18)" in row[1]
    assert (
        "and answered CERTIFICATE_VERIFY_FAILED (verify code 18): self-signed certificate" in block
    )
    assert "X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT" in block
    text = (gallery["built"]["text"][0] / "gallery" / "requests.txt").read_text("utf-8")
    assert "[tls · OpenSSL]" in text


def asked_rows(block: str) -> dict[str, str]:
    """Picture row label -> what that layer was asked, as the page shows it."""
    rows = re.findall(
        r'<span class="lt-stack-layer">([^<]+)</span>:.*?'
        r'<span class="lt-asked-word">asked</span> (<code.*?</code>)',
        block,
    )
    return {
        label: html_mod.unescape(re.sub(r"<[^>]+>", "", code)).replace("\xa0", " ")
        for label, code in rows
    }


def test_the_picture_shows_what_each_layer_was_asked(gallery):
    need("requests")
    asked = asked_rows(html_block(gallery, "requests"))
    assert asked["application · requests"] == (
        "get(url='http://127.0.0.1:9/', params=None, kwargs={'timeout': 2, 'auth': ***})"
    )
    assert asked["transport · urllib3 socket"].startswith(
        "create_connection(address=('127.0.0.1', 9), timeout=2"
    )
    # beside the audited syscall: the kernel row is the connect the audit hook saw
    assert re.search(
        r"os · kernel</span>: <code[^>]*><span class=\"pre\">connect",
        html_block(gallery, "requests"),
    )
    text = (gallery["built"]["text"][0] / "gallery" / "requests.txt").read_text("utf-8")
    flat = " ".join(text.split())
    assert "asked \"get(url='http://127.0.0.1:9/'," in flat
    assert "asked \"create_connection(address=('127.0.0.1', 9), timeout=2" in flat
    latex = " ".join(next(gallery["built"]["latex"][0].glob("*.tex")).read_text("utf-8").split())
    assert "{ asked }\\sphinxcode{\\sphinxupquote{create\\_connection(address=(" in latex


def test_show_args_no_leaves_the_arguments_out(tmp_path):
    need("requests")

    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        'extensions = ["sphinx_layertrace"]\n'
        f"layertrace_cache_dir = {str(tmp_path / 'cache')!r}\n"
        "layertrace_show_args = False\n"
        "layertrace_layers = {'urllib3.util.connection': ('transport', 'my sockets')}\n",
        "utf-8",
    )
    (src / "index.rst").write_text(
        "T\n=\n\n.. layertrace::\n   :style: script\n\n"
        "   import requests\n   requests.get('http://127.0.0.1:9/', timeout=2)\n\n"
        ".. layertrace::\n   :style: script\n   :show-args: yes\n\n"
        "   import requests\n   requests.get('http://127.0.0.1:9/', timeout=3)\n",
        "utf-8",
    )
    html = _built_index(src, tmp_path / "build")
    first, second = html.split('class="layertrace"')[1:]
    assert "lt-asked" not in first and "os · kernel" in first
    # a (layer, component) entry of layertrace_layers names the component everywhere
    assert asked_rows(second)["transport · my sockets"].startswith(
        "create_connection(address=('127.0.0.1', 9), timeout=3"
    )
    assert 'data-component="my sockets"' in first and "urllib3 socket<" not in html


def test_flattened_errors_are_rows_marked_as_read_from_the_exception(gallery):
    need("paramiko")
    html = (gallery["built"]["html"][0] / "gallery" / "paramiko.html").read_text("utf-8")
    rows = re.findall(r'<li class="lt-stack-flattened" data-flattened="([^"]+)"><p>(.*?)</p>', html)
    assert rows, "no flattened row on the paramiko page"
    source, row = rows[0]
    assert source == "paramiko NoValidConnectionsError.errors"
    row = html_mod.unescape(re.sub(r"<[^>]+>", "", row)).replace("\xa0", " ")
    assert row.startswith("flattened · read from the exception (paramiko")
    assert "127.0.0.1:9: ConnectionRefusedError" in row and "ECONNREFUSED" in row
    text = (gallery["built"]["text"][0] / "gallery" / "paramiko.txt").read_text("utf-8")
    assert "flattened · read from the exception" in text


def test_the_asyncio_page_block_and_prose_agree_on_the_non_blocking_connect(tmp_path):
    """The tutorial says connect answered EINPROGRESS and the refusal came through SO_ERROR;
    the block it shows must say the same (not that connect itself was refused)."""

    page = GALLERY.parent / "tutorial" / "asyncio.md"
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(page, src / "index.md")
    (src / "conf.py").write_text(
        'extensions = ["myst_parser", "sphinx_layertrace"]\n'
        f"layertrace_cache_dir = {str(tmp_path / 'cache')!r}\n"
        'suppress_warnings = ["ref", "myst.xref_missing"]\n',
        "utf-8",
    )
    html = _built_index(src, tmp_path / "build")
    block = html.split('class="layertrace"')[1].split('class="lt-meta"')[0]
    prose = re.sub(r"<[^>]+>", "", html.split('class="layertrace"')[0])  # above the block
    row = re.findall(r'<span class="lt-frame lt-kernel" data-layer="os"[^>]*>(.*?)</span>', block)
    assert row, "no kernel row in the asyncio block"
    assert "EINPROGRESS, then SO_ERROR  →  ECONNREFUSED" in html_mod.unescape(row[0])
    note = html_mod.unescape(re.sub(r"<[^>]+>", "", block.split('class="lt-kernel-note">')[1]))
    assert "answered EINPROGRESS (in progress); the refusal came later through" in note
    assert "getsockopt(SO_ERROR)" in note
    text = page.read_text("utf-8")
    assert "`EINPROGRESS`" in text and "`getsockopt(SO_ERROR)`" in text
    assert "EINPROGRESS" in prose and "SO_ERROR" in prose


def _built_index(src: Path, build: Path) -> str:
    """The HTML of ``src``'s index page, built in this process."""
    from sphinx.testing.util import SphinxTestApp

    app = SphinxTestApp("html", srcdir=src, builddir=build)
    try:
        app.build()
    finally:
        app.cleanup()
    return (Path(app.outdir) / "index.html").read_text("utf-8")
