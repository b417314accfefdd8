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
    marks = fold_marks(segments, limit)
    if not marks:
        return segments
    return tuple(
        dataclasses.replace(s, fold=marks[n][0], fold_label=marks[n][1]) if n in marks else s
        for n, s in enumerate(segments)
    )


def folded_dicts(segments: tuple[Segment, ...], limit: int = DEFAULT_FOLD) -> list[dict[str, str]]:
    """:func:`fold` as the plain dicts a doctree keeps (without copying any segment)."""
    marks = fold_marks(segments, limit)
    out = [segment.to_dict() for segment in segments]
    for index, (ident, label) in marks.items():
        out[index]["fold"] = ident
        if label:
            out[index]["fold_label"] = label
    return out


def fold_marks(
    segments: tuple[Segment, ...], limit: int = DEFAULT_FOLD
) -> dict[int, tuple[str, str]]:
    """Index of each segment to hide -> (its run's id, the run's label on its first segment).

    At most ``limit`` frames stay open (more only when more tracebacks raise than that): every
    frame that raised, then the first and last frame of each component's run (first the first
    frame of each component), never a glue frame. A frame folds with its source line and
    carets (the indented text after it), so an opened run reads exactly as CPython printed it.
    """
    units = _units(segments)
    if limit <= 0 or len(units) <= limit:
        return {}
    keep = _kept(segments, units, limit)
    marks: dict[int, tuple[str, str]] = {}
    group: list[list[int]] = []
    folds = 0
    for position, unit in enumerate([*units, []]):
        adjacent = not group or (unit and group[-1][-1] + 1 == unit[0])
        if group and (not unit or position in keep or not adjacent):
            folds += 1
            _mark(segments, marks, group, str(folds))
            group = []
        if unit and position not in keep:
            group.append(unit)
    return marks


def _kept(segments: tuple[Segment, ...], units: list[list[int]], limit: int) -> set[int]:
    """Positions (in ``units``) of the frames that stay open."""
    keep = {n for n, unit in enumerate(units) if _raises(segments, unit)}
    # the outermost traceback (printed last) first: it starts at the user's line
    traceback, raised = [], 0
    for n in range(len(units)):
        traceback.append(raised)
        raised += n in keep
    edges: list[int] = []
    for run in _runs(segments, units):
        for position in (run[0], run[-1]):
            if not segments[units[position][0]].glue and position not in edges:
                edges.append(position)
    edges.sort(key=lambda position: (-traceback[position], position))
    seen: set[tuple[str, str]] = set()
    firsts = []
    for position in edges:
        key = (segments[units[position][0]].layer, segments[units[position][0]].component)
        if key not in seen:
            seen.add(key)
            firsts.append(position)
    for position in [*firsts, *(p for p in edges if p not in firsts)]:
        if len(keep) >= limit:
            break
        keep.add(position)
    return keep


def _units(segments: tuple[Segment, ...]) -> list[list[int]]:
    """Each frame's index with the indented lines that follow it (its source, its carets)."""
    units: list[list[int]] = []
    for index, segment in enumerate(segments):
        if segment.kind == "frame":
            units.append([index])
        elif units and units[-1][-1] == index - 1 and _is_source(segment):
            units[-1].append(index)
    return units


def _is_source(segment: Segment) -> bool:
    """A frame's source line and carets: indented text, and nothing else (no header)."""
    if segment.kind != "text":
        return False
    return all(line.startswith("    ") for line in segment.text.splitlines())


def _runs(segments: tuple[Segment, ...], units: list[list[int]]) -> list[list[int]]:
    """Positions of consecutive frames of one component (any other line ends the run)."""
    runs: list[list[int]] = []
    for position, unit in enumerate(units):
        if runs:
            last = units[runs[-1][-1]]
            if last[-1] + 1 == unit[0] and _same(segments, last[0], unit[0]):
                runs[-1].append(position)
                continue
        runs.append([position])
    return runs


def _same(segments: tuple[Segment, ...], before: int, index: int) -> bool:
    a, b = segments[before], segments[index]
    return (a.layer, a.component) == (b.layer, b.component)


def _raises(segments: tuple[Segment, ...], unit: list[int]) -> bool:
    """The last frame of a traceback: what follows it (and its source) is not another frame."""
    after = unit[-1] + 1
    return after >= len(segments) or segments[after].kind != "frame"


def _mark(
    segments: tuple[Segment, ...],
    marks: dict[int, tuple[str, str]],
    group: list[list[int]],
    ident: str,
) -> None:
    names = [segments[unit[0]].component or segments[unit[0]].layer for unit in group]
    where = ", ".join(name for name in dict.fromkeys(names) if name)
    label = f"{counted(len(group), 'more frame')} in {where}" if where else ""
    for position, index in enumerate(index for unit in group for index in unit):
        marks[index] = (ident, label if position == 0 else "")
