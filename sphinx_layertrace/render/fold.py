"""Long tracebacks fold: which frames the HTML hides until the reader opens them.

Beyond ``layertrace_fold`` frames, each run of frames of one component keeps its first and its
last frame and every frame that raised; the rest of the run (glue first: a glue frame folds even
at a run's edge) becomes one line, "4 more frames in urllib3 pool". Only the HTML folds, and
only visually: the text stays in the page, and text and LaTeX print every line.
"""

from __future__ import annotations

import dataclasses

from sphinx_layertrace.render.annotate import Segment
from sphinx_layertrace.render.words import counted

#: Frames a traceback may have before it folds (``layertrace_fold``); 0 never folds.
DEFAULT_FOLD = 12


def fold(segments: tuple[Segment, ...], limit: int = DEFAULT_FOLD) -> tuple[Segment, ...]:
    """``segments`` with the frames to hide marked by run (``fold``, ``fold_label``)."""
    if limit <= 0 or sum(1 for s in segments if s.kind == "frame") <= limit:
        return segments
    out = list(segments)
    folds = 0
    for run in _runs(segments):
        group: list[int] = []
        for index in [*run, -1]:
            if index >= 0 and _folds(segments, run, index):
                group.append(index)
            elif group:
                folds += 1
                _mark(out, group, str(folds))
                group = []
    return tuple(out)


def _folds(segments: tuple[Segment, ...], run: list[int], index: int) -> bool:
    """Whether a frame folds: not a raising frame; not a run's edge unless it is glue."""
    if _raises(segments, index):
        return False
    return index not in (run[0], run[-1]) or bool(segments[index].glue)


def _runs(segments: tuple[Segment, ...]) -> list[list[int]]:
    """Consecutive frames of one component (a line of text between them ends the run)."""
    runs: list[list[int]] = []
    for i, segment in enumerate(segments):
        if segment.kind != "frame":
            runs.append([])
            continue
        if runs and runs[-1] and _same_run(segments, runs[-1][-1], i):
            runs[-1].append(i)
        else:
            runs.append([i])
    return [run for run in runs if run]


def _same_run(segments: tuple[Segment, ...], before: int, index: int) -> bool:
    a, b = segments[before], segments[index]
    return index == before + 1 and (a.layer, a.component) == (b.layer, b.component)


def _raises(segments: tuple[Segment, ...], index: int) -> bool:
    """The last frame of a traceback: what follows it is not another frame."""
    following = segments[index + 1] if index + 1 < len(segments) else None
    return following is None or following.kind != "frame"


def _mark(out: list[Segment], run: list[int], ident: str) -> None:
    first = out[run[0]]
    where = first.component or first.layer
    label = f"{counted(len(run), 'more frame')} in {where}" if where else ""
    for position, index in enumerate(run):
        out[index] = dataclasses.replace(
            out[index], fold=ident, fold_label=label if position == 0 else ""
        )
