"""One explanation per capture: what every renderer, the CLI and check read."""

from __future__ import annotations

from pathlib import Path

from sphinx_layertrace.meaning.drift import drift
from sphinx_layertrace.meaning.explanation import explain_capture
from sphinx_layertrace.meaning.layers import LayerMap
from sphinx_layertrace.model import Capture
from sphinx_layertrace.render.annotate import plain_text, segments

FIXTURES = Path(__file__).parent / "fixtures" / "captures"


def seed(platform: str = "linux") -> Capture:
    return Capture.from_json((FIXTURES / f"seed-{platform}.json").read_text("utf-8"))


def test_seed_explained_once_for_every_reader() -> None:
    explanation = explain_capture(seed(), LayerMap())
    assert explanation.code_label == "errno 111 ECONNREFUSED"
    assert explanation.carrier is explanation.answered is explanation.exception
    assert explanation.kernel is not None
    assert explanation.kernel.call == "connect(('127.0.0.1', 464))"
    assert explanation.kernel.who == "The kernel"
    assert [entry.layer for entry in explanation.stack] == [
        "user",
        "application",
        "transport",
        "os",
    ]
    assert [code.name for code in explanation.codes] == ["ECONNREFUSED"]
    # the text every non-HTML builder prints: a label per frame, the kernel row above the error
    text = plain_text(segments(explanation))
    assert text.count("  [application · smtplib]") == 3
    assert (
        "  connect(('127.0.0.1', 464))  →  ECONNREFUSED (111)  [os · kernel]\n"
        "ConnectionRefusedError" in text
    )


def test_source_links_are_part_of_the_explanation_only_when_wanted() -> None:
    linked = explain_capture(seed(), LayerMap())
    plain = explain_capture(seed(), LayerMap(), source_links=False)
    assert [bool(m.href) for m in linked.frames] == [False, True, True, True, True, True]
    assert not any(m.href for m in plain.frames)


def test_windows_code_is_a_winerror() -> None:
    assert explain_capture(seed("win32"), LayerMap()).code_label == "WinError 10061"


def test_a_capture_without_exception_explains_nothing() -> None:
    explanation = explain_capture(Capture("x = 1"), LayerMap())
    assert (explanation.frames, explanation.stack, explanation.kernel) == ((), (), None)
    assert explanation.code_label == "no errno"
    assert segments(explanation) == ()


def test_drift_is_one_decision_in_two_phrasings() -> None:
    quiet = Capture("x = 1", outcome="returned")
    assert drift(("nothing",), quiet) is None
    assert drift((), quiet) is None
    found = drift(("ConnectionRefusedError",), quiet)
    assert found is not None
    assert found.sentence() == "expected ConnectionRefusedError, but the snippet did not raise"
    assert found.short() == "expected ConnectionRefusedError, got no exception"
    raised = drift(("nothing",), seed())
    assert raised is not None
    assert (
        raised.sentence() == "expected no exception, but the snippet raised ConnectionRefusedError"
    )
    assert raised.short() == (
        "expected no exception, got ConnectionRefusedError: [Errno 111] Connection refused"
    )
