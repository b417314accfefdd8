"""Property tests of the parent's reading of a worker's line: whatever bytes arrive, the job gets
a :class:`Capture` or one ``error`` outcome, and nothing of ours raises.

The lines are made the way ``child/server.py`` makes them, ``{"result": RAW, "id": N,
"duration": D}`` with the child's JSON passed through undecoded, from reports of real snippets
run once per module; then they are damaged: bytes flipped, cut, inserted, or a value anywhere in
the report replaced by random JSON.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sphinx_layertrace.capture.hygiene import Hygiene
from sphinx_layertrace.capture.interpreters import current
from sphinx_layertrace.capture.runner import Request, Runner, _Job, take_line
from sphinx_layertrace.model import Capture

SNIPPETS = (
    'import socket\nsocket.create_connection(("127.0.0.1", 9))\n',
    "print('hé\\x1b[31m', 'x' * 50)\n1 + 1\n",
    "def f(n):\n    return f(n + 1)\nf(0)\n",
    "import os\nraise OSError(2, 'gone', '/etc/x')\n",
)
IDENT = 7


@pytest.fixture(scope="module")
def reports() -> list[dict[str, Any]]:
    """Real reports (a refused connection, output with controls, a deep recursion, an errno)."""
    with Runner() as runner:
        return [runner.run(Request(code=code, timeout=10)).to_dict() for code in SNIPPETS]


def _line(report: Any, ident: int = IDENT) -> bytes:
    raw = json.dumps(report, ensure_ascii=True).encode("ascii")
    return b'{"result": %s, "id": %d, "duration": 0.25}' % (raw, ident)


def _decode(line: bytes) -> Capture | None:
    """What the parent makes of one line for a pending job (None: the line named no job)."""
    runner = Runner(hygiene=Hygiene(secrets=("s3cr3t-value",), paths=(("/home/u", "~"),)))
    job = _Job(IDENT, Request(code="x = 1\n"), current())
    pending = {IDENT: job}
    take_line(line, pending, runner.hygiene)
    if job.result is None:
        assert pending == {IDENT: job}  # not taken: the worker's end fails it later
        return None
    assert pending == {}
    capture = runner._to_capture(job)
    assert isinstance(capture, Capture)
    assert capture.code == "x = 1\n"  # the request's code, never the report's
    return capture


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a JSON document a value can be swapped (dict keys and list indexes)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _swap(document: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    document = copy.deepcopy(document)
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = new
    return document


def test_an_undamaged_line_is_the_capture(reports) -> None:
    for report in reports:
        capture = _decode(_line(report))
        assert capture is not None and capture.outcome == report["outcome"]


@given(st.data())
def test_a_value_anywhere_replaced_by_random_json(reports, data) -> None:
    report = data.draw(st.sampled_from(reports))
    path = data.draw(st.sampled_from(_paths(report)))
    capture = _decode(_line(_swap(report, path, data.draw(json_values))))
    assert capture is not None  # the envelope is intact: the job always gets an answer


@given(st.data())
def test_damaged_bytes_inside_the_result(reports, data) -> None:
    """What a snippet that rewrites its own result file can leave: the envelope around it is
    the worker's, so the job is answered at once (not a minute later, with the whole worker)."""
    raw = json.dumps(data.draw(st.sampled_from(reports))).encode("ascii")
    start = data.draw(st.integers(0, len(raw)))
    end = data.draw(st.integers(start, min(len(raw), start + 64)))
    inserted = data.draw(st.binary(max_size=16).filter(lambda b: b"\n" not in b))
    damaged = raw[:start] + inserted + raw[end:]
    if damaged[:1] != b"{" or damaged[-1:] != b"}":
        damaged = b"{" + damaged + b"}"  # the server passes on only what looks like an object
    line = b'{"result": %s, "id": %d, "duration": 0.5}' % (damaged, IDENT)
    capture = _decode(line)
    assert capture is not None
    assert capture.outcome == "error" or json.loads(line)["result"]


@given(st.data())
def test_a_cut_or_garbled_line(reports, data) -> None:
    line = _line(data.draw(st.sampled_from(reports)))
    cut = line[: data.draw(st.integers(0, len(line)))]
    noise = data.draw(st.binary(max_size=32))
    _decode(data.draw(st.sampled_from([cut, noise, cut + noise, noise + line])))


@given(st.integers(1, 5000))
def test_deep_nesting_is_an_answer_not_a_recursion_error(depth) -> None:
    nested = "[" * depth + "]" * depth
    line = b'{"result": {"schema": 1, "outcome": "raised", "x": %s}, "id": %d, "duration": 1}' % (
        nested.encode(),
        IDENT,
    )
    assert _decode(line) is not None


@given(json_values, st.one_of(st.integers(), st.text(max_size=5), st.none(), st.booleans()))
def test_a_message_of_any_shape(message, ident) -> None:
    """Valid JSON that is not the worker's message shape: never raises, never takes a job it
    does not name."""
    line = json.dumps({"id": ident, "result": message}).encode("ascii")
    capture = _decode(line)
    assert (capture is not None) == (type(ident) is int and ident == IDENT)


@given(st.data())
def test_a_damaged_cache_entry_is_a_miss_never_an_exception(
    reports, tmp_path_factory, data
) -> None:
    """The other reader of the same documents: an entry on disk cut, flipped or padded is a
    miss (and removed, so the next run rewrites it), or still the very capture it was."""
    from sphinx_layertrace.capture.cache import CaptureCache

    cache = CaptureCache(tmp_path_factory.mktemp("cache"))
    key = "ab" * 32
    capture = Capture.from_dict(data.draw(st.sampled_from(reports)))
    stored = CaptureCache.encode(key, capture)
    start = data.draw(st.integers(0, len(stored)))
    end = data.draw(st.integers(start, min(len(stored), start + 32)))
    damaged = stored[:start] + data.draw(st.binary(max_size=16)) + stored[end:]
    cache.path_for(key).parent.mkdir(parents=True, exist_ok=True)
    cache.path_for(key).write_bytes(damaged)
    found = cache.get(key)
    assert found is None or found == capture
    if damaged == stored:
        assert found == capture
