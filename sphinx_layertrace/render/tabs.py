"""The tabs of one snippet: which captures are shown side by side, and the line that compares them.

Frozen captures of other platforms (``layertrace_captures``) stand in for live ones that could
not be had and follow them; the "what differs" line reads each tab's :class:`.Explanation`, so it
names the same code and layers the tab itself shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sphinx_layertrace.meaning.explanation import Explanation, explain_capture
from sphinx_layertrace.meaning.layers import LayerMap
from sphinx_layertrace.model import Capture
from sphinx_layertrace.render.words import counted, tab_label


@dataclass(frozen=True)
class Shown:
    """One capture to show, with the tab label it gets."""

    label: str
    capture: Capture | None
    missing: str = ""  # why there is no capture (missing interpreter, nothing cached)


def wanted(capture: Capture, filters: Iterable[str]) -> bool:
    """``:platforms:`` filter: ``linux``/``darwin``/``win32``, ``macos``/``windows``, a Python
    ``X.Y``, or both as ``darwin-py3.12``. No filter shows everything; ``none`` shows nothing
    (the page keeps to the live capture, for prose about the build machine's own output)."""
    filters = [f.strip().lower() for f in filters if f.strip()]
    if not filters:
        return True
    if filters == ["none"]:
        return False
    key = capture.platform.key
    version = capture.python.short_version
    names = {
        key,
        capture.platform.pretty.split(" ")[0].lower(),
        version,
        f"py{version}",
        f"{key}-py{version}",
        capture.python.label,
    }
    return any(f in names for f in filters)


def beside(
    live: Sequence[Shown],
    names: Sequence[Sequence[str]],
    frozen: Sequence[Capture],
    filters: Sequence[str],
    here: str,
) -> list[Shown]:
    """The tabs of a snippet: live captures first, then the frozen ones that add something.

    ``live[i]`` is the capture planned for the interpreter known as ``names[i]``: its label and,
    when it exists here, its X.Y (a capture taken under ``:python: build`` on a 3.11 is the 3.11
    capture). The frozen capture of this platform that fits it best (the same X.Y, else the same
    label) stands in for a live one that could not be had (``layertrace_execute = "never"``, or
    the interpreter is not installed here), for every tab it fits (three labels of one Python
    show the same capture), and is not shown again. The rest are filtered by ``:platforms:``
    and follow in file-name order. ``here`` is the platform key of the machine building.
    """
    shown = list(live)
    taken: set[int] = set()
    for i, item in enumerate(live):
        label, version = [*names[i], "", ""][:2] if i < len(names) else ("", "")
        best: tuple[int, int] | None = None  # (rank, index): the same X.Y ranks before a label
        for j, capture in enumerate(frozen):
            if capture.platform.key != here:
                continue
            if version and capture.python.short_version == version:
                rank = 0
            elif label and label in (capture.python.label, capture.python.short_version):
                rank = 1
            else:
                continue
            best = min(best, (rank, j)) if best else (rank, j)
        if best is not None:
            taken.add(best[1])
            if item.capture is None:
                shown[i] = Shown(tab_label(frozen[best[1]]), frozen[best[1]])
    for j, capture in enumerate(frozen):
        if j not in taken and wanted(capture, filters):
            shown.append(Shown(tab_label(capture), capture))
    return shown


# -- the "what differs" line --------------------------------------------------------------------


def what_differs(shown: Sequence[Shown], layer_map: LayerMap | None = None) -> str:
    """:func:`differs_line` for tabs not explained yet (explained under ``layer_map``)."""
    layers = layer_map or LayerMap()
    explained = [
        explain_capture(s.capture, layers, source_links=False) if s.capture else None for s in shown
    ]
    return differs_line(shown, explained)


def differs_line(shown: Sequence[Shown], explained: Sequence[Explanation | None]) -> str:
    """One line comparing the tabs: only what differs, and what they share said once.

    Each capture is reduced to aspects (exception type or outcome, errno/WinError, number of
    frames, layers crossed); an aspect with one value on every tab goes into "Same on every
    tab", the others list each value with the tabs that have it. Tabs are named as briefly as
    tells them apart: ``Linux`` when a value holds for every Linux tab, ``CPython 3.13.0`` when it
    holds for every tab of that version, else platform and version.
    """
    present = [(s, e) for s, e in zip(shown, explained, strict=True) if e is not None]
    if len(present) < 2:
        return ""
    namer = _TabNamer([e.capture for _, e in present], [s.label for s, _ in present])
    same, differ = _compare([_aspects(e) for _, e in present], namer.who)
    missing = [s.label for s in shown if s.capture is None]
    gap = f" No capture: {', '.join(missing)}." if missing else ""
    if not differ:
        where = "on every tab that ran" if missing else "everywhere"
        return f"Same result {where}: {', '.join(same)}.{gap}"
    line = "What differs: " + "; ".join(differ) + "."
    if same:
        line += f" Same on every tab: {', '.join(same)}."
    return line + gap


def _aspects(explanation: Explanation) -> list[str | None]:
    capture = explanation.capture
    exc = capture.exception
    if capture.outcome != "raised" or exc is None:
        outcome = {"returned": "no exception", "timeout": "timed out"}.get(capture.outcome)
        return [outcome or capture.outcome, None, None, None]
    layers = " → ".join(explanation.layers_crossed)
    return [
        exc.qualified,
        explanation.code_label,
        counted(len(explanation.frames), "frame"),
        f"layers {layers}" if layers else None,
    ]


def _compare(
    table: list[list[str | None]], who: Callable[[list[int]], str]
) -> tuple[list[str], list[str]]:
    """(values every tab shares, one "value (tabs) · value (tabs)" per aspect that differs)."""
    same: list[str] = []
    differ: list[str] = []
    for column in zip(*table, strict=True):
        groups: dict[str, list[int]] = {}
        for i, value in enumerate(column):
            if value is not None:
                groups.setdefault(value, []).append(i)
        if len(groups) == 1:
            if None not in column:
                same.extend(groups)
        elif groups:
            differ.append(" · ".join(f"{value} ({who(tabs)})" for value, tabs in groups.items()))
    return same, differ


def _platform_of(capture: Capture) -> str:
    return capture.platform.pretty.split(" (")[0]


def _python_of(capture: Capture) -> str:
    return capture.python.pretty


#: How a group of tabs can be named at once: (what they share, the name of that).
_GROUPINGS: tuple[tuple[Callable[[Capture], str], Callable[[Capture], str]], ...] = (
    (lambda c: c.platform.key, _platform_of),
    (_python_of, _python_of),
)


class _TabNamer:
    """Names tabs, and groups of tabs, as briefly as tells them apart."""

    def __init__(self, tabs: list[Capture], labels: list[str]) -> None:
        self.tabs = tabs
        several_platforms = len({c.platform.key for c in tabs}) > 1
        several_pythons = len({c.python.pretty for c in tabs}) > 1
        names = [_tab_name(c, several_platforms, several_pythons) for c in tabs]
        # the same platform and version twice: the tab labels tell them apart
        self.names = names if len(set(names)) == len(names) else labels

    def who(self, members: list[int]) -> str:
        chosen = set(members)
        for key, name in _GROUPINGS:
            keys = {key(self.tabs[i]) for i in chosen}
            if {i for i, c in enumerate(self.tabs) if key(c) in keys} == chosen:
                return ", ".join(dict.fromkeys(name(self.tabs[i]) for i in members))
        return ", ".join(dict.fromkeys(self.names[i] for i in members))


def _tab_name(capture: Capture, several_platforms: bool, several_pythons: bool) -> str:
    parts = [_platform_of(capture)] if several_platforms else []
    if several_pythons or not parts:
        parts.append(capture.python.pretty)
    return " · ".join(parts)
