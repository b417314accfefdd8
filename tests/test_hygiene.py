"""Hygiene.needed: the runner skips cleaning a result only when cleaning would change nothing."""

from __future__ import annotations

import json

import pytest

from sphinx_layertrace.capture.hygiene import Hygiene

HYGIENE = Hygiene(
    secrets=("s3cr3t-value", 'with"quote'),
    paths=(("/home/author/docs", "<docs>"), ("/home/author", "~")),
)

STRINGS = [
    "ConnectionRefusedError: [Errno 111] Connection refused",
    "tab\tand\nnewline\r",
    "bell \x07 here",
    "\x1b[31mred\x1b[0m",
    "backspace \x08 and form feed \x0c",
    "del \x7f and c1 \x9b",
    "é ü \u2603",
    "lone \udcff surrogate",
    "<object at 0x7f3a2b1c4d50>",
    "0xdeadbeef",
    "token s3cr3t-value inside",
    'a with"quote secret',
    "/home/author/docs/conf.py",
    "/home/author/.cache",
    "/home/other/file",
    'quotes " and backslashes \\ and \\b',
    "<object object at 0x\u2026>",  # what the child leaves where it masked an address
    "0x1234567 (7 digits: not an address) and 0x",
    "ellipsis \u2026, nbsp \xa0, c1 end \x9f, just above \xa1",
    "escaped-looking text: \\u001b and \\ud800 and \\u0085",
    "emoji \U0001f600 (a surrogate pair in JSON)",
    "\x00 nul and \x1f unit separator",
]


@pytest.mark.parametrize("text", STRINGS)
def test_a_document_said_to_need_nothing_is_left_unchanged_by_clean(text):
    document = {"stdout": text, "steps": [{"output": text}], "code": text, "n": 1}
    raw = json.dumps(document, ensure_ascii=True).encode("ascii")
    if not HYGIENE.needed(raw):
        assert HYGIENE.clean(json.loads(raw)) == json.loads(raw)
    if HYGIENE.clean(document) != document:
        assert HYGIENE.needed(raw)


def test_plain_results_are_recognised():
    raw = json.dumps({"stdout": "hello\n", "exception": {"type": "OSError"}}).encode("ascii")
    assert not Hygiene(secrets=("s3cr3t-value",), paths=HYGIENE.paths).needed(raw)
    assert not Hygiene().needed(raw)
    # a secret that JSON would write escaped cannot be looked for in the bytes: always clean
    assert HYGIENE.needed(raw)


def test_a_masked_address_is_not_a_reason_to_clean():
    """Every network capture has ``repr(timeout)`` = ``<object object at 0x…>`` (masked by the
    child): the runner must not walk the whole result for it."""
    document = {"arguments": [["timeout", "<object object at 0x\u2026>"]], "message": "…"}
    raw = json.dumps(document, ensure_ascii=True).encode("ascii")
    assert not Hygiene().needed(raw)
    assert Hygiene().needed(raw.replace(b"0x", b"0x7f3a2b1c"))


def test_the_child_masks_the_address_of_a_refused_connections_timeout():
    """The report of a refused ``create_connection`` (what each layer was asked included)
    leaves the parent nothing to clean: no address is left for ``needed`` to see."""
    import socket

    from caught import raised

    from sphinx_layertrace.child.paths import PathMasker
    from sphinx_layertrace.child.report import describe

    exc = raised(lambda: socket.create_connection(("127.0.0.1", 9)))
    report = describe(exc, PathMasker())
    asked = [pair for frame in report["frames"] for pair in frame.get("arguments", [])]
    assert ["timeout", "<object object at 0x\u2026>"] in asked
    assert not Hygiene().needed(json.dumps(report, ensure_ascii=True).encode("ascii"))


def test_only_secret_looking_names_with_real_values_are_redacted():
    from sphinx_layertrace.capture.hygiene import secret_values

    environ = {
        "GITHUB_TOKEN": "ghp-abcdef123",
        "DB_PASSWORD": "hunter2!",
        "XDG_SESSION_CLASS": "user",  # not a secret name: 'user' stays readable on the page
        "API_KEY": "abc",  # too short to tell from an ordinary word
    }
    assert sorted(secret_values(environ)) == ["ghp-abcdef123", "hunter2!"]
