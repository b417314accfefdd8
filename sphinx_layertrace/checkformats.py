"""How ``check`` prints what it found: text for people, JSON, JUnit XML and GitHub annotations.

Plain data in, text out (standard library only), so each format is tested on its own and the
command line only chooses one. A :class:`Finding` is one warning a build gives; a :class:`Case`
is one snippet on one platform or interpreter (a JUnit test case), failed by its finding.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from xml.etree import ElementTree

FORMATS = ("text", "json", "junit", "github")


@dataclass(frozen=True)
class Finding:
    """One warning the build gives, at the author's file and line (``line`` 0 when none)."""

    file: str
    line: int
    subtype: str
    message: str
    tab: str = ""  # the snippet's tab it is about (interpreter or platform), "" when none

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file or "<unknown>"


@dataclass(frozen=True)
class Case:
    """One test case: a snippet under one interpreter or on one frozen platform."""

    file: str
    line: int
    tab: str
    failure: Finding | None = None

    @property
    def name(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where} [{self.tab}]" if self.tab else where


def render(fmt: str, findings: Sequence[Finding], cases: Sequence[Case]) -> str:
    """The report in ``fmt`` (one of :data:`FORMATS`); "" when there is nothing to print."""
    if fmt == "json":
        return json.dumps([asdict(f) for f in findings], indent=2) + "\n"
    if fmt == "junit":
        return junit(findings, cases)
    lines = [github_line(f) if fmt == "github" else text_line(f) for f in findings]
    return "".join(line + "\n" for line in lines)


def text_line(finding: Finding) -> str:
    """``docs/page.rst:12: expected X, got Y [macOS · CPython 3.11.7, frozen]``."""
    suffix = f" [{finding.tab}]" if finding.tab else ""
    return f"{finding.location}: {finding.message}{suffix}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_line(finding: Finding) -> str:
    """A GitHub Actions workflow command: ``::warning file=F,line=L,title=T::message``.

    Values are escaped as the runner expects (``%``, CR and LF in the message; also ``:`` and
    ``,`` in properties), so a message never ends the command early.
    """
    props = []
    if finding.file:
        props.append(f"file={_escape_property(finding.file)}")
        if finding.line:
            props.append(f"line={finding.line}")
    props.append(f"title={_escape_property('layertrace.' + finding.subtype)}")
    message = finding.message + (f" [{finding.tab}]" if finding.tab else "")
    return f"::warning {','.join(props)}::{_escape_data(message)}"


def junit(findings: Sequence[Finding], cases: Sequence[Case]) -> str:
    """JUnit XML: one test case per snippet and platform, failed by what the build warns.

    Warnings that belong to no snippet's outcome (an unknown option, a bad ``conf.py`` value)
    are test cases of their own, so a CI report lists them where people look.
    """
    attached = {id(c.failure) for c in cases if c.failure is not None}
    extra = [
        Case(f.file, f.line, f"layertrace.{f.subtype}", f)
        for f in findings
        if id(f) not in attached
    ]
    every = [*cases, *extra]
    failures = sum(1 for c in every if c.failure is not None)
    suites = ElementTree.Element("testsuites", tests=str(len(every)), failures=str(failures))
    suite = ElementTree.SubElement(
        suites,
        "testsuite",
        name="sphinx-layertrace check",
        tests=str(len(every)),
        failures=str(failures),
        errors="0",
        skipped="0",
    )
    for case in every:
        element = ElementTree.SubElement(
            suite, "testcase", classname=case.file or "sphinx-layertrace", name=case.name
        )
        if case.failure is not None:
            failure = ElementTree.SubElement(
                element,
                "failure",
                type=f"layertrace.{case.failure.subtype}",
                message=case.failure.message,
            )
            failure.text = text_line(case.failure)
    ElementTree.indent(suites)
    body = ElementTree.tostring(suites, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
