"""The optional capture fields of real network stacks: arguments per frame, flattened errors."""

from __future__ import annotations

import pytest

from sphinx_layertrace.model import Capture, ExceptionInfo, FlatError, Frame, SchemaError


def capture(**exception) -> Capture:
    return Capture(code="x", outcome="raised", exception=ExceptionInfo("E", "m", **exception))


def test_arguments_and_flattened_survive_json():
    original = capture(
        frames=(Frame("f.py", 1, "get", arguments=(("url", "'http://127.0.0.1:9/'"),)),),
        flattened=(FlatError("paramiko NoValidConnectionsError.errors", "127.0.0.1:9", errno=111),),
    )
    assert Capture.from_json(original.to_json()) == original


def test_older_captures_have_neither():
    old = Capture.from_dict(
        {"code": "x", "outcome": "raised", "exception": {"type": "E", "module": "m",
         "frames": [{"filename": "f.py", "lineno": 1, "name": "g"}]}}
    )  # fmt: skip
    assert old.exception.flattened == ()
    assert old.exception.frames[0].arguments == ()


@pytest.mark.parametrize("bad", [["url"], [["url", 1]], "url=1", [["a", "b", "c"]]])
def test_malformed_arguments_are_a_schema_error(bad):
    data = capture(frames=(Frame("f.py", 1, "g"),)).to_dict()
    data["exception"]["frames"][0]["arguments"] = bad
    with pytest.raises(SchemaError):
        Capture.from_dict(data)
