"""Doctree nodes and the HTML visitors that need more than the standard ones.

Each node subclasses a standard docutils node, so a builder without a visitor of its own (text,
LaTeX, man, texinfo, epub, xml, anything new) falls back to that node's rendering. Attributes
are JSON-like primitives so doctrees pickle and snapshot cleanly.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from html import escape
from typing import Any

from docutils import nodes

from sphinx_layertrace.render import colour
from sphinx_layertrace.render.words import FLATTENED_LABEL


class layertrace_pending(nodes.General, nodes.Element):
    """Placed by the directive at read time; replaced by the rendered capture at write time."""


class layertrace_target(nodes.container):
    """Carries a ``:name:`` of a block without a caption; ``title`` is what ``:ref:`` shows."""


def target_title(node: layertrace_target) -> str:
    return node.get("title", "")


class layertrace_block(nodes.container):
    """One rendered snippet: the element with class ``layertrace`` that themes and CSS target."""


class lt_traceback(nodes.literal_block):
    """The traceback text. Children hold the plain annotated text for every other builder;
    ``segments`` holds the frames with their layers and links for HTML."""


class lt_session(nodes.literal_block):
    """The code as typed (a ``>>>`` session or the script). HTML highlights it with one lexer
    per language for the whole build; every other builder highlights it like any code block."""


class lt_details(nodes.container):
    """The kernel note, the layer stack and the caption of one capture, as JSON-like
    attributes (``kernel``, ``stack``, ``caption``). The HTML visitor writes them directly;
    children, when present, are the same content as ordinary nodes for every other builder.
    Marked ``no-search``: the words repeat the traceback and would only bloat the index."""


class lt_tabs(nodes.container):
    """Captures of one snippet from several interpreters or platforms."""


class lt_panel(nodes.container):
    """One tab of :class:`lt_tabs`; ``label`` names it."""


def skip(self: Any, node: nodes.Element) -> None:
    raise nodes.SkipNode


def visit_block_html(self: Any, node: layertrace_block) -> None:
    attrs = {}
    if node.get("outcome"):
        attrs["data-outcome"] = node["outcome"]
    self.body.append(self.starttag(node, "div", CLASS="layertrace", **attrs))


def depart_block_html(self: Any, node: layertrace_block) -> None:
    self.body.append("</div>\n")


def visit_traceback_html(self: Any, node: lt_traceback) -> None:
    """Write the traceback ourselves: every string escaped, labels kept out of copied text.

    A folded run of frames stays in the text (a reader who copies gets CPython's whole text);
    a checkbox and its label, both allowed inside ``<pre>``, open it without JavaScript.
    """
    out = [self.starttag(node, "pre", CLASS="lt-traceback literal-block", suffix="")]
    prefix = node.get("fold_prefix", "lt")
    open_fold = ""
    for segment in node["segments"]:
        fold = segment.get("fold", "")
        if fold != open_fold:
            if open_fold:
                out.append("</span>")
            if fold:
                out.append(_fold_opening(self, segment.get("fold_label", ""), prefix))
            open_fold = fold
        kind = segment.get("kind")
        if kind == "frame":
            out.append(_frame_html(segment))
        elif kind == "kernel":
            out.append(_kernel_html(segment))
        else:
            out.append(colour.html(segment.get("text", ""), segment.get("colors", ())))
    if open_fold:
        out.append("</span>")
    out.append("</pre>\n")
    self.body.append("".join(out))
    raise nodes.SkipNode


def _fold_opening(self: Any, label: str, prefix: str) -> str:
    """The toggle of one folded run; ids are the block's prefix and a count, unique and stable."""
    number = getattr(self, "_layertrace_folds", 0) + 1
    self._layertrace_folds = number
    ident = f"{escape(prefix)}-fold-{number}"
    return (
        f'<input class="lt-fold-toggle" type="checkbox" id="{ident}">'
        f'<label class="lt-fold-label" for="{ident}">{escape(label, quote=False)}</label>'
        '<span class="lt-folded">'
    )


#: The opening tag and label of a frame, per (layer, component, glue): a page repeats a few
#: dozen of them hundreds of times, and escaping each again was a third of writing a block.
_FRAME_PARTS: dict[tuple[str, str, str], tuple[str, str]] = {}


def _frame_parts(layer: str, component: str, glue: str) -> tuple[str, str]:
    key = (layer, component, glue)
    found = _FRAME_PARTS.get(key)
    if found is None:
        attrs = f' data-layer="{escape(layer)}"' if layer else ""
        if component:
            attrs += f' data-component="{escape(component)}"'
        classes = "lt-frame lt-glue" if glue else "lt-frame"
        found = (f'<span class="{classes}"{attrs}>', _label_html(layer, component))
        if len(_FRAME_PARTS) > 4096:
            _FRAME_PARTS.clear()
        _FRAME_PARTS[key] = found
    return found


def _label_html(layer: str, component: str) -> str:
    if not layer:
        return ""
    text = f"{layer} · {component}" if component else layer
    return f'<span class="lt-label" data-layer="{escape(layer)}">{escape(text, quote=False)}</span>'


def _first_line_html(segment: dict[str, Any], first: str) -> str:
    """The ``File "...", line N, in f`` line: coloured runs, and the file name as a link."""
    text, spans = segment.get("text", ""), segment.get("colors", ())
    filename, href = segment.get("filename", ""), segment.get("href", "")
    at = first.find(f'"{filename}"') + 1 if href and filename else 0
    if at <= 0:
        return colour.html(text, spans, 0, len(first))
    end = at + len(filename)
    link = colour.html(text, spans, at, end)
    return (
        f'{colour.html(text, spans, 0, at)}<a class="lt-source" href="{escape(href)}">{link}</a>'
        f"{colour.html(text, spans, end, len(first))}"
    )


def _frame_html(segment: dict[str, Any]) -> str:
    layer = segment.get("layer", "")
    text = segment.get("text", "")
    first, newline, _ = text.partition("\n")
    first_html = _first_line_html(segment, first)
    rest_html = colour.html(text, segment.get("colors", ()), len(first) + len(newline))
    opening, label = _frame_parts(layer, segment.get("component", ""), segment.get("glue", ""))
    return f"{opening}{first_html}{label}{newline}{rest_html}</span>"


def _kernel_html(segment: dict[str, str]) -> str:
    text = segment.get("text", "").rstrip("\n")
    href = segment.get("href", "")
    layer = segment.get("layer", "os")
    component = segment.get("component", "kernel")
    body = escape(text, quote=False)
    if href:
        body = f'<a class="lt-manual" href="{escape(href)}">{body}</a>'
    who = component if component in ("OpenSSL", "WinSock") else f"the {component}"
    label = _label_html(layer, segment.get("component", ""))
    return (
        f'<span class="lt-frame lt-kernel" data-layer="{escape(layer)}" '
        f'aria-label="{escape(who)}\'s answer">{body}{label}\n</span>'
    )


def _literal_html(self: Any, text: str) -> str:
    """What docutils' HTML writer makes of a ``literal`` node holding ``text``."""
    out = ['<code class="docutils literal notranslate">']
    for token in self.words_and_spaces.findall(self.encode(text)):
        if token.strip():
            out.append(f'<span class="pre">{token}</span>')
        elif token in {" ", "\n"}:
            out.append(token)
        else:
            out.append("&#160;" * (len(token) - 1) + " ")
    out.append("</code>")
    return "".join(out)


def visit_details_html(self: Any, node: lt_details) -> None:
    """Kernel note, path, conversions and caption in the markup the standard nodes would give."""
    out = []
    encode = self.encode
    kernel = node.get("kernel")
    if kernel:
        out.append(
            f'<p class="lt-kernel-note">{encode(kernel["who"])} was asked '
            f"{_literal_html(self, kernel['call'])} "
            f'(<a class="reference external" href="{encode(kernel["url"])}">'
            f"{encode(kernel['manual'])}</a>) and {encode(kernel['answer'])}.</p>\n"
        )
    out.append(_stack_html(self, node.get("stack") or [], node.get("flattened") or []))
    out.append(_conversions_html(self, node.get("conversions") or []))
    out.append(f'<p class="lt-meta">{encode(node.get("caption", ""))}</p>\n')
    self.body.append("".join(out))
    raise nodes.SkipNode


def _stack_html(self: Any, stack: list[list[str]], flattened: list[list[str]]) -> str:
    """The path by component; each row with what its layer was asked; then the flattened rows."""
    if not stack and not flattened:
        return ""
    encode = self.encode
    out = ['<ul class="lt-stack simple">\n']
    for layer, calls, component, *rest in stack:
        label = f"{layer} · {component}" if component else layer
        asked = rest[0] if rest else ""
        shown = (
            f' <span class="lt-asked-word">asked</span> '
            f"{_literal_html(self, asked).replace('literal', 'literal lt-asked', 1)}"
            if asked
            else ""
        )
        out.append(
            f'<li class="lt-stack-{encode(layer)}" data-layer="{encode(layer)}"><p>'
            f'<span class="lt-stack-layer">{encode(label)}</span>: '
            f"{_literal_html(self, calls)}{shown}</p></li>\n"
        )
    for source, where, error in flattened:
        place = f"{encode(where)}: " if where else ""
        out.append(
            f'<li class="lt-stack-flattened" data-flattened="{encode(source)}"><p>'
            f'<span class="lt-flat-label">{encode(FLATTENED_LABEL)}</span> '
            f"({encode(source)}): {place}{_literal_html(self, error)}</p></li>\n"
        )
    out.append("</ul>\n")
    return "".join(out)


def _conversions_html(self: Any, conversions: list[list[str]]) -> str:
    if not conversions:
        return ""
    out = [
        '<p class="lt-conversions-title">On the way back up:</p>\n',
        '<ol class="lt-conversions arabic simple">\n',
    ]
    for lower, upper, how, where in conversions:
        place = f" in {_literal_html(self, where)}" if where else ""
        out.append(
            f"<li><p>{_literal_html(self, lower)} → {_literal_html(self, upper)} "
            f"({self.encode(how)}){place}</p></li>\n"
        )
    out.append("</ol>\n")
    return "".join(out)


@dataclass
class _Highlighting:
    """One formatter and one lexer per language, for one build's highlighter.

    Sphinx makes a new console lexer and formatter per block; making them once per build saves
    most of the highlighting time of a page of snippets. Kept per highlighter (one per builder,
    so per build) in a weak dictionary: nothing survives the build, so twenty rebuilds in one
    ``sphinx-autobuild`` process see each conf.py's own ``app.add_lexer`` and hold no old ones.
    """

    formatter: Any
    lexers: dict[str, Any] = field(default_factory=dict)


_HIGHLIGHTING: weakref.WeakKeyDictionary[Any, _Highlighting] = weakref.WeakKeyDictionary()


def _highlighting(highlighter: Any) -> _Highlighting:
    found = _HIGHLIGHTING.get(highlighter)
    if found is None:
        found = _HIGHLIGHTING[highlighter] = _Highlighting(highlighter.get_formatter(linenos=False))
    return found


def _lexer(lang: str, cache: dict[str, Any]) -> Any:
    """The lexer Sphinx would build for ``lang`` (honouring ``app.add_lexer``), made once."""
    from sphinx import highlighting

    if lang in highlighting.lexers:
        return highlighting.lexers[lang]
    lexer = cache.get(lang)
    if lexer is None:
        factory = highlighting.lexer_classes.get(lang)
        if factory is None:
            from pygments.lexers import get_lexer_by_name

            lexer = get_lexer_by_name(lang)
        else:
            lexer = factory()
        lexer.add_filter("raiseonerror")  # as Sphinx does: an error falls back to its path
        cache[lang] = lexer
    return lexer


def visit_session_html(self: Any, node: lt_session) -> None:
    """Highlight like Sphinx's ``visit_literal_block`` does, with a lexer made once."""
    from pygments import highlight
    from pygments.filters import ErrorToken

    source = node.rawsource
    lang = node.get("language", "default")
    if lang in {"python", "py", "default"}:
        lang = "pycon" if source.startswith(">>>") else "python"
    highlighter = self.highlighter
    if (
        lang not in {"pycon", "python"}
        or self.config.highlight_options.get(lang)
        or getattr(highlighter, "dest", "html") != "html"
    ):
        self.visit_literal_block(node)  # anything unusual: Sphinx's own path
        return
    cached = _highlighting(highlighter)
    try:
        highlighted = highlight(source, _lexer(lang, cached.lexers), cached.formatter)
    except ErrorToken:
        self.visit_literal_block(node)  # Sphinx retries in relaxed mode and warns
        return
    starttag = self.starttag(node, "div", suffix="", CLASS=f"highlight-{lang} notranslate")
    self.body.append(starttag + highlighted + "</div>\n")
    raise nodes.SkipNode


def visit_tabs_html(self: Any, node: lt_tabs) -> None:
    self.body.append(
        self.starttag(node, "div", CLASS="lt-tabs", role="radiogroup", **{"aria-label": "Captures"})
    )
    group = node["group"]
    for index, panel in enumerate(node.children):
        ident = f"{group}-{index}"
        label = panel["label"] if isinstance(panel, nodes.Element) else ""
        checked = " checked" if index == node.get("selected", 0) else ""
        self.body.append(
            f'<input class="lt-tab-input" type="radio" name="{escape(group)}" '
            f'id="{escape(ident)}"{checked}>'
            f'<label class="lt-tab-label" for="{escape(ident)}">'
            f"{escape(label, quote=False)}</label>\n"
        )
    self.body.append('<div class="lt-panels">\n')


def depart_tabs_html(self: Any, node: lt_tabs) -> None:
    self.body.append("</div></div>\n")


def visit_panel_html(self: Any, node: lt_panel) -> None:
    self.body.append(self.starttag(node, "div", CLASS="lt-panel"))


def depart_panel_html(self: Any, node: lt_panel) -> None:
    self.body.append("</div>\n")


def register(app: Any) -> None:
    pending = (skip, None)
    builders = ("html", "latex", "text", "man", "texinfo", "xml", "gettext")
    everywhere = dict.fromkeys(builders, pending)
    app.add_node(layertrace_pending, **everywhere)
    app.add_node(layertrace_block, html=(visit_block_html, depart_block_html))
    # enumerable so that the standard domain gives ':ref:' a title without a visible caption
    app.add_enumerable_node(layertrace_target, "layertrace", target_title)
    app.add_node(lt_traceback, html=(visit_traceback_html, None))
    app.add_node(lt_session, html=(visit_session_html, None))
    app.add_node(lt_details, html=(visit_details_html, None))
    app.add_node(lt_tabs, html=(visit_tabs_html, depart_tabs_html))
    app.add_node(lt_panel, html=(visit_panel_html, depart_panel_html))
