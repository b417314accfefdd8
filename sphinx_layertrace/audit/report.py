"""The audit's findings as a reader wants them: per block at ``file:line``, then per file; or
JSON, one object per block found."""

from __future__ import annotations

import json
from collections import Counter

from sphinx_layertrace.render.words import counted

from .compare import BlockVerdict

STATUSES = ("current", "rotted", "unchecked")


def block_lines(item: BlockVerdict, label: str = "") -> list[str]:
    verdict = item.verdict
    where = f"{item.block.rel}:{item.block.line}"
    suffix = f" [Python {label}]" if label else ""
    at = f" at line {verdict.example}" if verdict.example not in (0, item.block.line) else ""
    if verdict.status == "rotted":
        return [
            f"{where}: rotted{at}{suffix}",
            f"    pasted: {verdict.pasted}",
            f"    now:    {verdict.now}",
        ]
    if verdict.status == "unchecked":
        return [f"{where}: unchecked{at}: {verdict.reason}{suffix}"]
    return [f"{where}: current{suffix}"]


def text_report(findings: dict[str, list[BlockVerdict]], label: str = "") -> list[str]:
    """Every block of every file, each file followed by its summary line."""
    out = []
    for rel, items in findings.items():
        if not items:
            continue
        for item in items:
            out += block_lines(item, label)
        out.append(f"{rel}: {summary(items)}")
    return out


def summary(items: list[BlockVerdict]) -> str:
    counts = Counter(item.verdict.status for item in items)
    return ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s]) or "nothing to audit"


def json_objects(findings: dict[str, list[BlockVerdict]], label: str) -> list[dict]:
    objects = []
    for items in findings.values():
        for item in items:
            verdict = item.verdict
            entry: dict[str, object] = {
                "file": item.block.rel,
                "line": item.block.line,
                "status": verdict.status,
                "python": label,
            }
            if verdict.status == "unchecked":
                entry["reason"] = verdict.reason
            if verdict.status == "rotted":
                entry["pasted"] = verdict.pasted
                entry["now"] = verdict.now
            if item.exception:
                entry["exception"] = item.exception
            objects.append(entry)
    return objects


def dump(objects: list[dict]) -> str:
    return json.dumps(objects, indent=2, ensure_ascii=False) + "\n"


def totals(findings: dict[str, list[BlockVerdict]]) -> str:
    items = [item for found in findings.values() for item in found]
    files = sum(1 for found in findings.values() if found)
    return f"{counted(len(items), 'block')} in {counted(files, 'file')}: {summary(items)}"
