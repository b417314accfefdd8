"""CPython source links of stdlib frames."""

from __future__ import annotations

from pathlib import Path

import pytest

from sphinx_layertrace.meaning.links import source_url
from sphinx_layertrace.model import Capture, Frame, PythonInfo

FIXTURES = Path(__file__).parent / "fixtures" / "captures"
CPY = "https://github.com/python/cpython/blob/"


def stdlib_frame(path: str = "socket.py", lineno: int | None = 851, **kw: object) -> Frame:
    return Frame(
        filename=kw.pop("filename", f"<stdlib>/{path}"),
        lineno=lineno,
        name="f",
        origin=kw.pop("origin", "stdlib"),
        stdlib_path=path,
        **kw,
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("frame", "python", "url"),
    [
        (stdlib_frame(), PythonInfo(version="3.11.7"), CPY + "v3.11.7/Lib/socket.py#L851"),
        (
            stdlib_frame("asyncio/base_events.py", 1085),
            PythonInfo(version="3.13.0rc1"),
            CPY + "v3.13.0rc1/Lib/asyncio/base_events.py#L1085",
        ),
        (
            stdlib_frame("importlib/_bootstrap.py", 241, filename="<frozen importlib._bootstrap>"),
            PythonInfo(version="3.12.0b4"),
            CPY + "v3.12.0b4/Lib/importlib/_bootstrap.py#L241",
        ),
        (
            Frame("<frozen os>", 225, "f", origin="stdlib"),
            PythonInfo(version="3.11.7"),
            CPY + "v3.11.7/Lib/os.py#L225",
        ),
        (
            stdlib_frame("http\\client.py", 10, filename="<stdlib>\\http\\client.py"),
            PythonInfo(version="3.11.7"),
            CPY + "v3.11.7/Lib/http/client.py#L10",
        ),
        # no trustworthy tag or not CPython's own file
        (stdlib_frame(), PythonInfo(version="3.14.0a1+"), None),
        (stdlib_frame(), PythonInfo(version=""), None),
        (stdlib_frame(), PythonInfo(implementation="PyPy", version="3.9.16"), None),
        (stdlib_frame(origin="site"), PythonInfo(version="3.11.7"), None),
        (stdlib_frame(origin="user"), PythonInfo(version="3.11.7"), None),
        (stdlib_frame(lineno=None), PythonInfo(version="3.11.7"), None),
        (stdlib_frame(""), PythonInfo(version="3.11.7"), None),
    ],
)
def test_source_url(frame: Frame, python: PythonInfo, url: str | None) -> None:
    assert source_url(frame, python) == url


@pytest.mark.parametrize("platform", ["linux", "darwin", "win32"])
def test_seed_links_every_stdlib_frame(platform: str) -> None:
    capture = Capture.from_json((FIXTURES / f"seed-{platform}.json").read_text("utf-8"))
    assert capture.exception is not None
    urls = [source_url(f, capture.python) for f in capture.exception.frames]
    assert urls == [
        None,
        CPY + "v3.11.7/Lib/smtplib.py#L255",
        CPY + "v3.11.7/Lib/smtplib.py#L341",
        CPY + "v3.11.7/Lib/smtplib.py#L312",
        CPY + "v3.11.7/Lib/socket.py#L851",
        CPY + "v3.11.7/Lib/socket.py#L836",
    ]
