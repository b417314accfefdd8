"""The stack picture as plain lines, for the terminal: the path down, then the way back up.

The same rows and conversions the page shows (from the :class:`.Explanation`), as a list.
"""

from __future__ import annotations

from sphinx_layertrace.meaning.explanation import Explanation


def picture_lines(explanation: Explanation) -> list[str]:
    """``Path:`` with one row per component, then ``On the way back up:`` when chained."""
    if not explanation.stack:
        return []
    out = ["Path:"]
    out += [f"  {entry.label}: {' → '.join(entry.calls)}" for entry in explanation.stack]
    if explanation.conversions:
        out.append("On the way back up:")
        for number, step in enumerate(explanation.conversions, 1):
            where = f" in {step.where}" if step.where else ""
            out.append(f"  {number}. {step.lower} → {step.upper} ({step.how}){where}")
    return out
