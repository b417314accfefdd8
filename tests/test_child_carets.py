"""child/carets.py: caret anchors the worker keeps read exactly as CPython draws them."""

from __future__ import annotations

import sys
import traceback

import pytest
from caught import raised

from sphinx_layertrace.child.carets import Carets
from sphinx_layertrace.child.paths import PathMasker
from sphinx_layertrace.child.report import describe

pytestmark = pytest.mark.skipif(
    not hasattr(traceback, "_extract_caret_anchors_from_line_segment"),
    reason="CPython before 3.11 draws no caret anchors",
)
SEGMENT = "d['b']['c']"


def lookup(d):
    return d["a"] + d["b"]["c"]


def test_a_segment_is_kept_the_second_time_a_child_names_it():
    """The snippet's own line is usually met once: parsing it in the worker would be waste."""
    carets = Carets()
    carets.learn(SEGMENT.encode())
    assert SEGMENT not in carets.known
    carets.learn(b"x + y\0" + SEGMENT.encode())
    assert set(carets.known) == {SEGMENT}
    assert carets.known[SEGMENT] == traceback._extract_caret_anchors_from_line_segment(SEGMENT)


def test_what_a_child_names_is_parsed_again_not_believed():
    """A child sends segments, never anchors: bytes a snippet wrote into the file give it (or
    any later snippet) nothing but the anchors CPython itself works out for those bytes."""
    carets = Carets()
    for _ in range(2):
        carets.learn(b"a[0] + b\0" + b"(" * 5000 + b"\0)(\0[[[")
        carets.learn(b"1 + 1\0\xff\xfe")  # not what a child writes: ignored whole
    parse = traceback._extract_caret_anchors_from_line_segment
    assert carets.known == {text: parse(text) for text in ("a[0] + b", ")(", "[[[")}


def test_a_report_uses_the_kept_anchors_and_leaves_the_traceback_module_as_it_was():
    original = traceback._extract_caret_anchors_from_line_segment
    exc = raised(lambda: lookup({"a": 1, "b": {}}))
    plain = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    carets = Carets()
    first = describe(exc, PathMasker(), carets)
    assert carets.new  # parsed: the worker hears of these segments
    carets.new = []
    second = describe(exc, PathMasker(), carets)
    assert carets.new == []  # looked up this time
    assert traceback._extract_caret_anchors_from_line_segment is original
    assert "~~~~~~^^^^^" in plain or sys.version_info >= (3, 13)
    masked = PathMasker().text(plain)
    assert first["formatted"] == second["formatted"] == masked
