"""Values given through ``layertrace_env`` reach the snippet and nothing else: not the page, the
doctrees, Sphinx's environment pickle, the cache files or the build log, even when the snippet
prints them. Builds are real ``sphinx-build`` processes with the default layout
(``<outdir>/.doctrees``, the folder people upload).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

TOKEN = "tok-9f8e7d6c5b4a-Zq"  # under a secret-looking name
PHRASE = "correct horse battery staple"  # under an ordinary name: the author's secret all the same

INDEX = """\
    Title
    =====

    .. layertrace::
       :expect: ValueError

       import hashlib, os
       for name in ("API_TOKEN", "GREETING"):
           value = os.environ[name]
           print(name, len(value), hashlib.sha256(value.encode()).hexdigest()[:12])
           print("the value itself:", value, repr(value))
       raise RuntimeError(os.environ["GREETING"])
    """


def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def _build(tmp_path: Path, env: dict[str, str]) -> tuple[int, str, Path]:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "conf.py").write_text(
        'extensions = ["sphinx_layertrace"]\n'
        f"layertrace_cache_dir = {str(tmp_path / 'cache')!r}\n"
        f"layertrace_env = {env!r}\n",
        encoding="utf-8",
    )
    (src / "index.rst").write_text(textwrap.dedent(INDEX), encoding="utf-8")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-N", "-v", "-b", "html", str(src), str(out)],
        capture_output=True,
        timeout=120,
        env={**os.environ, "LANG": "C.UTF-8"},
        check=False,
    )
    log = (done.stdout + done.stderr).decode("utf-8", "replace")
    return done.returncode, log, out


def _files_holding(roots: list[Path], needle: bytes) -> list[str]:
    found = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and needle in path.read_bytes():
                found.append(str(path))
    return found


def test_env_values_reach_the_snippet_and_nothing_else(tmp_path):
    env = {"API_TOKEN": TOKEN, "GREETING": PHRASE}
    logs = []
    for _ in range(2):  # a run, then the same build served from the cache
        code, log, out = _build(tmp_path, env)
        assert code == 0, log
        logs.append(log)
        html = (out / "index.html").read_text("utf-8")
        # the snippet saw both values: their lengths and hashes are on the page
        assert f"API_TOKEN {len(TOKEN)} {_fingerprint(TOKEN)}" in html
        assert f"GREETING {len(PHRASE)} {_fingerprint(PHRASE)}" in html
        assert "the value itself: *** '***'" in html
    assert "1 snippet run, 0 from the cache" in logs[0]
    assert "0 snippets run, 1 from the cache" in logs[1]
    assert "RuntimeError: ***" in logs[0]  # the drift warning names the exception, redacted
    assert (out / ".doctrees" / "environment.pickle").is_file()
    for secret in (TOKEN, PHRASE):
        needle = secret.encode()
        assert _files_holding([out, tmp_path / "cache"], needle) == []
        assert all(needle not in log.encode() for log in logs)


def test_a_changed_env_value_still_invalidates_what_it_should(tmp_path):
    code, log, out = _build(tmp_path, {"API_TOKEN": TOKEN, "GREETING": PHRASE})
    assert code == 0, log
    changed = PHRASE + " again"
    code, log, out = _build(tmp_path, {"API_TOKEN": TOKEN, "GREETING": changed})
    assert code == 0, log
    assert "1 snippet run, 0 from the cache" in log  # a new key: the value is in its digest
    html = (out / "index.html").read_text("utf-8")
    assert f"GREETING {len(changed)} {_fingerprint(changed)}" in html
    assert _files_holding([out, tmp_path / "cache"], changed.encode()) == []
