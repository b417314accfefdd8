"""More rows of the hostile-snippet catalogue (shared/research/reliability.md §5), on real children.

Each snippet is bounded so the suite stays safe on a shared 2-core machine: the fork bomb is
depth-limited, the memory bomb relies on the address-space limit failing the allocation at once.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import threading
import time

import pytest
from children import alive

from sphinx_layertrace.capture.runner import Request, Runner

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux limits")


@pytest.fixture(scope="module")
def runner():
    with Runner() as r:
        yield r


def run(runner: Runner, code: str, timeout: float = 3, **kwargs):
    return runner.run(Request(code, timeout=timeout, **kwargs))


def test_memory_bomb_is_a_memory_error_not_a_dead_build(runner):
    started = time.monotonic()
    cap = run(runner, "blob = bytearray(50 << 30)")
    assert cap.outcome == "raised"
    assert cap.exception.type == "MemoryError"
    assert time.monotonic() - started < 3


def test_bounded_fork_bomb_is_killed_with_its_group(runner):
    code = (
        "import os, time\n"
        "for _ in range(6):\n"  # 2**6 = 64 processes, each says who it is, then sleeps
        "    _ = os.fork()\n"
        "print('<%d>' % os.getpid())\n"  # print writes the text and the newline separately:
        "time.sleep(60)\n"  # another process's line can land between them
    )
    cap = run(runner, code, timeout=1.5)
    assert cap.outcome == "timeout"
    pids = [int(pid) for pid in re.findall(r"<(\d+)>", cap.stdout)]
    assert len(pids) == 64, cap.stdout
    deadline = time.monotonic() + 2
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in pids if alive(pid)] == []


def test_disk_filler_stops_at_the_file_size_limit(runner):
    code = (
        "chunk = b'x' * (1 << 20)\n"
        "with open('big', 'wb') as f:\n"
        "    while True:\n"
        "        f.write(chunk)\n"
    )
    cap = run(runner, code, timeout=10)
    assert cap.outcome == "raised", cap.detail
    assert cap.exception.type == "OSError"
    assert cap.exception.errno_name == "EFBIG"


def test_str_that_raises_or_floods_is_bounded(runner):
    cap = run(runner, "class E(Exception):\n    def __str__(self):\n        1 / 0\n\nraise E()")
    assert cap.outcome == "raised"
    assert "<exception str() failed>" in cap.exception.formatted
    cap = run(runner, "raise ValueError('x' * 10_000_000)", timeout=10)
    assert cap.outcome == "raised"
    assert len(cap.to_json()) < 1_000_000


def test_generator_exit_and_base_exception_groups_are_results(runner):
    assert run(runner, "raise GeneratorExit").exception.type == "GeneratorExit"
    if sys.version_info >= (3, 11):
        cap = run(runner, "raise BaseExceptionGroup('g', [ValueError(1), KeyboardInterrupt()])")
        assert cap.exception.type == "BaseExceptionGroup"
        assert [e.type for e in cap.exception.exceptions] == ["ValueError", "KeyboardInterrupt"]


def test_a_listening_socket_closes_with_the_snippet(runner):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    code = (
        "import socket, threading, time\n"
        "s = socket.socket()\n"
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"s.bind(('127.0.0.1', {port}))\n"
        "s.listen()\n"
        "threading.Thread(target=time.sleep, args=(60,)).start()\n"  # a non-daemon thread too
    )
    cap = run(runner, code)
    assert cap.outcome == "returned"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_relative_writes_land_in_a_throwaway_directory(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = sorted(os.listdir(tmp_path))
    cap = run(runner, "import os\nopen('scribble.txt', 'w').write('x')\nprint(os.getcwd())")
    assert cap.outcome == "returned"
    assert sorted(os.listdir(tmp_path)) == before
    assert "scribble" not in " ".join(os.listdir(tmp_path))
    assert str(tmp_path) not in cap.stdout


def test_a_snippet_holds_no_descriptor_of_another_snippets_files():
    """The worker opens each child's files just before forking it: the copies it keeps must be
    closed before the next fork, or a snippet could write into its neighbour's output."""
    code = (
        "import os\n"
        "mine = os.path.dirname(os.getcwd())\n"
        "base = os.path.dirname(mine)\n"
        "for fd in os.listdir('/proc/self/fd'):\n"
        "    try:\n"
        "        target = os.readlink('/proc/self/fd/' + fd)\n"
        "    except OSError:\n"
        "        continue\n"
        "    if target.startswith(base) and not target.startswith(mine + '/'):\n"
        "        print('foreign', fd, target)\n"
        "print('checked')\n"
    )
    with Runner(parallel=2) as runner:
        sleeper = runner.submit(Request("import time; time.sleep(0.6)", timeout=5))
        tickets = [runner.submit(Request(code + f"# {i}\n", timeout=5)) for i in range(3)]
        for ticket in tickets:
            cap = runner.result(ticket)
            assert cap.outcome == "returned", cap.detail
            assert "checked" in cap.stdout
            assert "foreign" not in cap.stdout, cap.stdout
        assert runner.result(sleeper).outcome == "returned"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/fd")
def test_a_snippet_holds_no_pipe_of_the_worker(runner):
    """The forker tells the worker which child ended, over a pipe; the wake-up pipes carry
    signals. A snippet holding one could forge another snippet's ending or stall the worker:
    a child closes them all before the snippet runs (stdin reads /dev/null)."""
    code = (
        "import os\n"
        "for fd in sorted(os.listdir('/proc/self/fd'), key=int):\n"
        "    try:\n"
        "        print(fd, os.readlink('/proc/self/fd/' + fd))\n"
        "    except OSError:\n"
        "        pass\n"
    )
    cap = runner.run(Request(code, timeout=5))
    assert cap.outcome == "returned", cap.detail
    assert "0 /dev/null" in cap.stdout
    assert "pipe:" not in cap.stdout, cap.stdout


def test_a_file_named_result_json_in_the_snippets_directory_is_just_a_file(runner):
    code = (
        "import json, os\n"
        "json.dump({'schema': 1, 'code': 'x', 'outcome': 'returned'}, open('result.json', 'w'))\n"
        "os._exit(0)\n"
    )
    cap = run(runner, code)
    assert cap.outcome == "crashed"  # os._exit before reporting; the file did not pose as a report


def test_a_forged_report_cannot_claim_another_snippets_result():
    forged = (
        "import os\n"
        "open('../result.json', 'w').write("
        '\'{"schema": 1, "code": "c", "outcome": "returned"}, "id": 2, "z": {}\')\n'
        "os._exit(0)\n"
    )
    with Runner() as fresh:  # tickets count from 1: the forgery names the next one, 2
        first = fresh.submit(Request(forged, timeout=3))
        second = fresh.submit(Request("1 / 0", timeout=3))
        assert second == 2
        assert fresh.result(second).exception.type == "ZeroDivisionError"
        fresh.result(first)  # whatever it claims for itself, it is a Capture, not an exception


def test_a_report_that_is_not_a_capture_is_an_error_outcome(runner):
    code = (
        "import os\n"
        "open('../result.json', 'w').write('{\"schema\": 1, \"exception\": \"boom\"}')\n"
        "os._exit(0)\n"
    )
    cap = run(runner, code)
    assert cap.outcome == "error"
    assert "not readable" in cap.detail


@pytest.mark.parametrize("mode", ["fork", "spawn"])
def test_an_interpreter_that_vanished_is_an_error_outcome(mode):
    import dataclasses

    from sphinx_layertrace.capture.interpreters import current

    gone = dataclasses.replace(current(), executable="/nonexistent/python3", label="9.9")
    with Runner(mode=mode) as fresh:
        cap = fresh.run(Request("1 / 0"), gone)
    assert cap.outcome == "error"
    assert cap.detail.startswith("could not start 9.9: [Errno 2]")


def test_the_process_limit_counts_what_the_user_already_runs():
    """RLIMIT_NPROC is the user's running tasks plus a margin: 200 more threads of this user are
    counted (a little slack for other processes of the same user coming and going)."""
    from sphinx_layertrace.child import isolation

    before = isolation.user_tasks()
    stop = threading.Event()
    threads = [threading.Thread(target=stop.wait, daemon=True) for _ in range(200)]
    for thread in threads:
        thread.start()
    try:
        during = isolation.user_tasks()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert during - before >= 150, (before, during)
