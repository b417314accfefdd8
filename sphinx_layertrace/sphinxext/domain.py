"""Per-document plans kept in the build environment, typed, merged for ``-j``, purged with a doc.

A domain rather than loose attributes on ``env``: Sphinx pickles it, calls :meth:`clear_doc` when
a document is re-read and :meth:`merge_domaindata` when forked readers report back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from sphinx.domains import Domain

from sphinx_layertrace.sphinxext.session import Planned


class LayertraceDomain(Domain):
    """The snippets each document plans to run (so the main process can submit what forked
    ``-j`` readers planned but could not start)."""

    name = "layertrace"
    label = "layertrace"
    initial_data: ClassVar[dict[str, Any]] = {"plans": {}}  # docname -> list[Planned]
    data_version: ClassVar[int] = 2  # 2: Planned.interpreter

    @property
    def plans(self) -> dict[str, list[Planned]]:
        return self.data["plans"]

    def set_plans(self, docname: str, planned: Iterable[Planned]) -> None:
        self.plans[docname] = [plan for plan in planned if plan.key]

    def plans_of(self, docnames: Iterable[str]) -> list[Planned]:
        return [plan for docname in docnames for plan in self.plans.get(docname, ())]

    def clear_doc(self, docname: str) -> None:
        self.plans.pop(docname, None)

    def merge_domaindata(self, docnames: Iterable[str], otherdata: dict[str, Any]) -> None:
        theirs = otherdata["plans"]
        for docname in docnames:
            if docname in theirs:
                self.plans[docname] = theirs[docname]
