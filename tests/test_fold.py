"""Folding long tracebacks: at most ``limit`` frames stay open, raising frames always do, and a
frame folds together with its source line."""

from __future__ import annotations

from sphinx_layertrace.render.annotate import Segment
from sphinx_layertrace.render.fold import fold


def frame(component: str, name: str, *, glue: bool = False) -> list[Segment]:
    return [
        Segment(
            "frame",
            f'  File "x.py", line 1, in {name}\n',
            "application",
            component=component,
            glue="glue" if glue else "",
        ),
        Segment("text", f"    {name}()\n"),
    ]


def chain(*tracebacks: list[tuple[str, str]]) -> tuple[Segment, ...]:
    out = []
    for number, frames in enumerate(tracebacks):
        out.append(Segment("text", "Traceback (most recent call last):\n"))
        for component, name in frames:
            out.extend(frame(component, name))
        out.append(Segment("text", f"Error{number}: boom\n\nDuring handling ...\n\n"))
    return tuple(out)


def open_frames(segments: tuple[Segment, ...]) -> list[str]:
    return [s.text.split("in ")[-1].strip() for s in segments if s.kind == "frame" and not s.fold]


def test_a_short_traceback_does_not_fold():
    segments = chain([("a", f"f{n}") for n in range(5)])
    assert fold(segments, 12) == segments
    assert fold(chain([("a", f"f{n}") for n in range(30)]), 0) == chain(
        [("a", f"f{n}") for n in range(30)]
    )


def test_at_most_limit_frames_stay_open_and_every_raiser_is_one_of_them():
    inner = [("pool", f"p{n}") for n in range(6)] + [("socket", "connect")]
    outer = [("user", "<module>")] + [("requests", f"r{n}") for n in range(8)]
    segments = fold(chain(inner, outer), 6)
    shown = open_frames(segments)
    assert len(shown) == 6
    assert {"connect", "r7"} <= set(shown)  # the frames that raised
    assert "<module>" in shown  # the outermost traceback starts at the user's line
    # a folded frame takes its source line with it; the label names the components folded
    for index, segment in enumerate(segments):
        if segment.kind == "frame" and segment.fold:
            assert segments[index + 1].fold == segment.fold
    labels = [s.fold_label for s in segments if s.fold_label]
    assert labels and all(label.split()[0].isdigit() for label in labels)
    assert any(label.endswith("more frames in requests") for label in labels)
    assert sum(int(label.split()[0]) for label in labels) == 16 - 6


def test_glue_folds_first():
    frames = [("httpx", "a"), ("contextlib", "__exit__"), ("httpx", "b")] * 5
    segments = list(chain(frames))
    segments[3] = Segment(**{**segments[3].__dict__, "glue": "glue"})  # the first __exit__
    folded = fold(tuple(segments), 12)
    assert folded[3].fold
