"""The caret anchors of traceback lines, parsed once in the worker instead of in every child.

To draw ``~~~^^^`` under a frame's line, CPython 3.11+ parses the line's segment with
``ast.parse`` (``traceback._extract_caret_anchors_from_line_segment``): three parses for a
refused ``socket.create_connection``, about 30 page faults and a tenth of a child's report. The
anchors are a pure function of the segment, so the worker keeps them for the segments its
children keep meeting (the lines of socket.py, of urllib3...) and each child looks a segment up
before it parses one.

A child only names the segments it parsed; the worker parses each again itself, so no snippet
can give another one wrong carets. A segment is kept the second time a child names it: the
snippet's own line is usually seen once, and the worker would parse it for nothing.
"""

import traceback

MYPY = False
if MYPY:  # read by the type checker only: the child imports no typing at run time
    from typing import Any  # noqa: F401 - used by the type comment below

_FUNCTION = "_extract_caret_anchors_from_line_segment"  # 3.11+; older versions draw no anchors
_MAX_KEPT = 2048
_MAX_SEEN = 4096
_MAX_SEGMENT = 1000


class Carets:
    """Caret anchors by line segment: filled in the worker, looked up in its children."""

    def __init__(self):
        self.parse = getattr(traceback, _FUNCTION, None)  # type: Any
        self.known = {}  # segment -> the anchors ``parse`` gave for it (None included)
        self.seen = set()  # segments named once, not parsed here yet
        self.passed = set()  # segments ``recurring`` gave out to be kept
        self.new = []  # segments this process parsed that the worker did not know
        self.saved = None

    def lookup(self, segment):
        try:
            return self.known[segment]
        except KeyError:
            pass
        anchors = self.parse(segment)  # what it raises, traceback's own caller suppresses
        self.known[segment] = anchors
        self.new.append(segment)
        return anchors

    def install(self):
        """While a report is made: the traceback module asks ``lookup`` for anchors."""
        if self.parse is None:
            return
        self.saved = getattr(traceback, _FUNCTION, None)
        setattr(traceback, _FUNCTION, self.lookup)

    def remove(self):
        if self.saved is not None:
            setattr(traceback, _FUNCTION, self.saved)
            self.saved = None

    def parsed(self):
        """The segments this process parsed, for its worker (``learn``), or b""."""
        return "\0".join(self.new).encode("utf-8", "surrogatepass")

    def learn(self, data):
        """In the worker: the segments a child parsed, each kept the second time it comes."""
        self.keep(self.recurring(data))

    def recurring(self, data):
        """The segments of a child's note (``parsed``) named for the second time: to keep.

        The server asks this and passes what comes back to the forking process (``keep``),
        so the segments met once cost the forking process nothing."""
        if self.parse is None or not data:
            return []
        try:
            segments = data.decode("utf-8", "surrogatepass").split("\0")
        except UnicodeDecodeError:
            return []
        again = []
        for segment in segments:
            if segment in self.passed or segment in self.known or len(segment) > _MAX_SEGMENT:
                continue
            if segment in self.seen and len(self.passed) < _MAX_KEPT:
                self.seen.discard(segment)
                self.passed.add(segment)
                again.append(segment)
            else:
                if len(self.seen) >= _MAX_SEEN:
                    self.seen.clear()
                self.seen.add(segment)
        return again

    def keep(self, segments):
        """Parse and keep these segments (bounded): the children forked from now on look them up."""
        for segment in segments:
            if len(self.known) >= _MAX_KEPT:
                return
            if not isinstance(segment, str) or len(segment) > _MAX_SEGMENT:
                continue
            try:
                self.known[segment] = self.parse(segment)
            except Exception:
                pass
