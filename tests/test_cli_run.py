"""``python -m sphinx_layertrace run`` as a user runs it: a real subprocess, real children."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sphinx_layertrace.model import Capture

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX engine")

SEED = "import smtplib; smtplib.SMTP('localhost', port=66000)"


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sphinx_layertrace", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("extra", [(), ("--spawn",)])
def test_acceptance_command_json(extra):
    done = cli("run", "--json", SEED, *extra)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["outcome"] == "raised"
    exc = data["exception"]
    assert exc["type"] == "ConnectionRefusedError"
    assert exc["errno"] == 111
    assert exc["errno_name"] == "ECONNREFUSED"
    frames = exc["frames"]
    assert any(f["module"] == "smtplib" for f in frames)
    assert any(f["module"] == "socket" and f["name"] == "create_connection" for f in frames)
    assert all(f["filename"].startswith("<stdlib>/") for f in frames if f["origin"] == "stdlib")
    assert data["syscalls"][-1] == {"event": "socket.connect", "args": "('127.0.0.1', 464)"}
    assert data["platform"]["system"] == "Linux"
    assert data["python"]["version"]
    assert data["python"]["label"]
    # deterministic shape: sorted keys, two-space indent, and it is a Capture
    assert done.stdout == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert Capture.from_json(done.stdout).exception.errno_name == "ECONNREFUSED"


def test_text_output_reads_like_a_session():
    done = cli("run", SEED)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Linux")
    assert f" · CPython {sys.version.split()[0]}" in lines[0]
    assert f">>> {SEED}" in lines
    assert "Traceback (most recent call last):" in lines
    assert "ConnectionRefusedError: [Errno 111] Connection refused" in lines
    assert (
        "Kernel: getaddrinfo('localhost', 66000) → connect(('127.0.0.1', 464))"
        " → ECONNREFUSED (111) Connection refused"
    ) in lines
    # the annotated traceback: each frame names its layer and component, the kernel's answer
    # has its own row
    assert any(line.endswith("in __init__  [application · smtplib]") for line in lines)
    assert any(line.endswith("in create_connection  [transport · socket]") for line in lines)
    assert any(
        line.endswith("[os · kernel]") and "connect(('127.0.0.1', 464))" in line for line in lines
    )
    # then the picture as a list: the path by component, down to whoever answered
    path = lines[lines.index("Path:") + 1 :]
    assert [line.split(":")[0].strip() for line in path] == [
        "user",
        "application · smtplib",
        "transport · socket",
        "os · kernel",
    ]


def test_text_transcript_prompts_and_echo():
    code = "a = 20\nif a:\n    print('yes')\na + 22\n"
    done = cli("run", code)
    assert done.returncode == 0, done.stderr
    body = done.stdout.split("\n", 2)[2]
    assert body == (
        ">>> a = 20\n>>> if a:\n...     print('yes')\n...\nyes\n>>> a + 22\n42\n(no exception)\n"
    )


def test_returned_snippet_exits_zero_with_normalised_echo():
    done = cli("run", "--json", "import smtplib; smtplib.SMTP('', port=66000)")
    assert done.returncode == 0
    data = json.loads(done.stdout)
    assert data["outcome"] == "returned"
    assert data["echo"] == "<smtplib.SMTP object at 0x…>"


def test_script_style_and_stdin_code():
    done = cli("run", "--style", "script", "-", stdin="def f():\n    1/0\nf()\n")
    assert done.returncode == 0, done.stderr
    assert "\n>>> " not in done.stdout
    assert '  File "example.py", line 2, in f  [user]\n    1/0\n' in done.stdout
    assert "ZeroDivisionError: division by zero" in done.stdout


def test_timeout_and_crash_are_results_not_failures():
    done = cli("run", "--timeout", "1", "while True: pass")
    assert done.returncode == 0
    assert "[timeout] timed out after 1 s" in done.stdout
    done = cli("run", "--json", "import ctypes; ctypes.string_at(0)")
    assert done.returncode == 0
    data = json.loads(done.stdout)
    assert (data["outcome"], data["signal"]) == ("crashed", "SIGSEGV")


def test_other_interpreter_by_label():
    path = os.path.expanduser("~/.pyenv/versions")
    if not any(name.startswith("3.8.") for name in os.listdir(path) if os.path.isdir(path)):
        pytest.skip("no CPython 3.8 under ~/.pyenv/versions")
    done = cli("run", "--json", "--python", "3.8", SEED)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["python"]["version"].startswith("3.8.")
    assert data["exception"]["errno_name"] == "ECONNREFUSED"


@pytest.mark.parametrize(
    "args",
    [
        ("run",),  # the code is required
        ("run", "1", "--code", "2"),  # and given once
        ("run", "-c", "1"),  # -c is the conf dir everywhere now
        ("run", "1", "--style", "notebook"),
        ("run", "1", "--timeout", "-3"),
        ("run", "1", "--python", "2.9"),
        ("run", "1", "--python", "/nonexistent/python"),
        ("frobnicate",),
        (),
    ],
)
def test_usage_errors_exit_2(args):
    done = cli(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr


def test_the_old_run_dash_c_says_what_changed():
    """``-c`` is the conf dir in every subcommand (as in sphinx-build); ``run`` takes the code
    as its argument, and the old spelling gets one line saying so instead of running."""
    done = cli("run", "-c", "1/0")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "--conf-dir" in done.stderr
    assert "run 'CODE'" in done.stderr
    assert done.stderr.count("\n") == 1


def test_run_takes_the_code_as_an_option_too():
    done = cli("run", "--json", "--code", "1/0")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["exception"]["type"] == "ZeroDivisionError"
