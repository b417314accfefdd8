"""Every ``layertrace_*`` option once: default, meaning, and a validator run at ``config-inited``.

The reference page in the docs is generated from :data:`OPTIONS`, so it cannot drift.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sphinx.util import logging

from sphinx_layertrace.meaning.codes import DEFAULT_ERRNO_URL
from sphinx_layertrace.meaning.layers import LayerMap
from sphinx_layertrace.render.fold import DEFAULT_FOLD
from sphinx_layertrace.sphinxext import warnings

logger = logging.getLogger(__name__)
EXECUTE_MODES = ("auto", "always", "never")


@dataclass(frozen=True)
class Option:
    name: str
    default: Any
    rebuild: str
    doc: str
    check: Callable[[Any], str | None]


def _number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return "must be a positive number of seconds"
    return None


def _interpreters(value: Any) -> str | None:
    if value == "auto":
        return None
    if not isinstance(value, Mapping):
        return 'must be a dict of label -> executable path (or "auto"), or "auto"'
    for label, path in value.items():
        if not isinstance(label, str) or not isinstance(path, str) or not path:
            return f"entry {label!r}: {path!r} must map a string label to a path or 'auto'"
    return None


def _str_mapping(value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return "must be a dict of strings"
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            return f"entry {key!r} (a {type(item).__name__}) must map a string to a string"
    return None


def _layers(value: Any) -> str | None:
    """A dict of module prefix -> layer, or -> ``(layer, component)``."""
    if not isinstance(value, Mapping):
        return "must be a dict of module prefix -> layer or (layer, component)"
    try:
        LayerMap.build(value)
    except ValueError as exc:
        return "entry " + str(exc).removeprefix("layertrace_layers: ")
    return None


def _fold(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return "must be a whole number of frames, 0 (never fold) or more"
    return None


def _url(value: Any) -> str | None:
    if not isinstance(value, str) or "{name}" not in value:
        return "must be a URL template containing {name}"
    try:
        value.format(name="ECONNREFUSED", number=111)
    except (KeyError, IndexError, ValueError) as exc:
        return f"may use only {{name}} and {{number}} ({exc.__class__.__name__}: {exc})"
    return None


def _bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be True or False"


def _optional_dir(value: Any) -> str | None:
    if value is None or isinstance(value, str | os.PathLike):
        return None
    return "must be a directory path or None"


def _execute(value: Any) -> str | None:
    return None if value in EXECUTE_MODES else f"must be one of {', '.join(EXECUTE_MODES)}"


def _size(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1024:
        return "must be a number of bytes, at least 1024"
    return None


OPTIONS: tuple[Option, ...] = (
    Option("layertrace_timeout", 10, "env", "Seconds each snippet may run.", _number),
    Option(
        "layertrace_interpreters",
        {},
        "env",
        'Label → executable path, or ``"auto"`` to discover installed CPythons. The interpreter '
        "running Sphinx is always available as its ``X.Y`` label.",
        _interpreters,
    ),
    Option(
        "layertrace_env",
        {},
        "env",
        "Variables passed to snippets. Otherwise children get a minimal environment (PATH, "
        "LANG/LC_*, TZ, a temporary HOME). The values are treated as secrets: only a digest "
        "of each is kept in Sphinx's environment pickle, and output that shows one (6 "
        "characters or more) shows ``***`` instead.",
        _str_mapping,
    ),
    Option(
        "layertrace_layers",
        {},
        "env",
        "Module prefix → layer, or → ``(layer, component)``, added to or overriding the "
        "built-in maps (for example ``{'mylib': 'application', 'mylib.net': ('transport', "
        "'mylib sockets')}``). The longest dotted prefix wins; these entries win over the "
        "built-in ones.",
        _layers,
    ),
    Option(
        "layertrace_errno_url",
        DEFAULT_ERRNO_URL,
        "env",
        "URL template for errno links when the ``python`` intersphinx mapping is absent.",
        _url,
    ),
    Option(
        "layertrace_source_links", True, "env", "Link stdlib frames to CPython's source.", _bool
    ),
    Option(
        "layertrace_cache_dir",
        None,
        "",
        "Capture cache directory; default ``<confdir>/.layertrace-cache``, outside the output "
        "directory so a clean ``_build`` still reuses it. A relative path is relative to the "
        "directory of ``conf.py``. It is inside the tree ``sphinx-autobuild`` watches: pass it "
        "``--re-ignore '/\\.layertrace-cache(/|$)'`` (see the live-preview guide).",
        _optional_dir,
    ),
    Option(
        "layertrace_execute",
        "auto",
        "env",
        "``auto`` runs what is not cached, ``always`` runs everything, ``never`` uses the cache "
        "and frozen captures only (a missing one is a warning).",
        _execute,
    ),
    Option(
        "layertrace_captures",
        None,
        "env",
        "Directory of frozen capture files from other platforms, shown as tabs.",
        _optional_dir,
    ),
    Option(
        "layertrace_color",
        True,
        "html",
        "Show CPython's own traceback colours in HTML, where the interpreter that ran the "
        "snippet colours its tracebacks (CPython 3.13+, which the child runs with "
        "``PYTHON_COLORS=1``). Text, LaTeX, copied text and the cache's plain text stay "
        "without escape codes either way.",
        _bool,
    ),
    Option(
        "layertrace_max_output",
        64 * 1024,
        "env",
        "Bytes of stdout, stderr and traceback kept per snippet; the rest is cut with a "
        "visible marker.",
        _size,
    ),
    Option(
        "layertrace_show_args",
        True,
        "env",
        "Show in the stack picture what each layer was asked (the arguments of the first frame "
        "of each component, secrets redacted). ``:show-args: no`` turns it off per snippet.",
        _bool,
    ),
    Option(
        "layertrace_fold",
        DEFAULT_FOLD,
        "env",
        "Frames beyond which the HTML folds a traceback (each component keeps its first and "
        "last frame and the frame that raised); ``0`` never folds. ``:fold:`` overrides it "
        "per snippet. Text and LaTeX always print every line.",
        _fold,
    ),
)


def register(app: Any) -> None:
    for option in OPTIONS:
        app.add_config_value(option.name, option.default, option.rebuild)


def validate(app: Any, config: Any) -> None:
    """``config-inited``: one clear error per bad value, naming it; the build goes on.

    A bad value is replaced by its default, so one typo in ``conf.py`` costs a line in the log,
    not the whole build (``-W`` still turns it into a failure). Errors come in line order.
    """
    problems = []
    for option in OPTIONS:
        value = getattr(config, option.name)
        problem = option.check(value)
        if problem:
            path, line = _where(app.confdir, option.name)
            # layertrace_env may hold tokens: its problem names the entry, never the values
            got = "" if option.name == "layertrace_env" else f" (got {value!r})"
            message = f"{option.name} {problem}{got}; using the default {option.default!r}"
            problems.append((line, f"{path}:{line}", message))
            config[option.name] = option.default
    for _line, location, message in sorted(problems):
        warnings.error(logger, "config", message, location)


#: Where the real values of ``layertrace_env`` are kept once :func:`protect_env` has run: a
#: private attribute, which Sphinx leaves out when it pickles the configuration.
_ENV_VALUES = "_layertrace_env_values"


def protect_env(app: Any, config: Any) -> None:
    """``config-inited``, after :func:`validate`: keep ``layertrace_env``'s values out of
    ``environment.pickle`` (Sphinx pickles config values, and that folder is often uploaded).

    The public value becomes one digest per variable, so a changed value still changes the
    configuration Sphinx compares between builds (and re-reads what depends on it); the values
    themselves stay on the config object under a private name, for :func:`env_values`.
    """
    values = dict(config.layertrace_env)
    setattr(config, _ENV_VALUES, values)
    config.layertrace_env = {name: _digest(name, value) for name, value in values.items()}


def env_values(config: Any) -> dict[str, str]:
    """The variables the author passes to snippets (``layertrace_env`` as written)."""
    values = getattr(config, _ENV_VALUES, None)
    return dict(config.layertrace_env if values is None else values)


def _digest(name: str, value: str) -> str:
    data = f"sphinx-layertrace\0{name}\0{value}".encode("utf-8", "surrogatepass")
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _where(confdir: Any, name: str) -> tuple[Path, int]:
    """``conf.py`` and the line of the assignment, so the error points where to look."""
    path = Path(confdir or ".", "conf.py")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return path, 0
    pattern = re.compile(rf"^\s*{re.escape(name)}\s*[=\[]")
    # the last assignment is the one Python kept
    line = max((n for n, text in enumerate(lines, 1) if pattern.match(text)), default=0)
    return path, line


def cache_dir(config: Any, confdir: str | os.PathLike) -> Path:
    configured = config.layertrace_cache_dir
    base = Path(confdir)
    return (base / configured) if configured else base / ".layertrace-cache"
