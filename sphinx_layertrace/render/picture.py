"""The stack picture as plain lines, for the terminal: the path down, then the way back up.

The same rows and conversions the page shows (from the :class:`.Explanation`), as a list.
"""

from __future__ import annotations

from sphinx_layertrace.meaning.explanation import Explanation
from sphinx_layertrace.render.words import FLATTENED_LABEL


def picture_lines(explanation: Explanation, *, show_args: bool = True) -> list[str]:
    """``Path:`` with one row per component (and what it was asked), the rows read from the
    exception, then ``On the way back up:`` when chained."""
    if not explanation.stack and not explanation.flattened:
        return []
    out = ["Path:"]
    for entry in explanation.stack:
        asked = f"  (asked {entry.asked})" if entry.asked and show_args else ""
        out.append(f"  {entry.label}: {' → '.join(entry.calls)}{asked}")
    for row in explanation.flattened:
        where = f"{row.where}: " if row.where else ""
        out.append(f"  {FLATTENED_LABEL} ({row.source}): {where}{row.error}")
    if explanation.conversions:
        out.append("On the way back up:")
        for number, step in enumerate(explanation.conversions, 1):
            where = f" in {step.where}" if step.where else ""
            out.append(f"  {number}. {step.lower} → {step.upper} ({step.how}){where}")
    return out
