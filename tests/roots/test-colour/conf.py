import os

extensions = ["sphinx_layertrace"]
layertrace_timeout = 5
layertrace_cache_dir = os.environ.get("LAYERTRACE_TEST_CACHE", ".layertrace-cache")
# the CPython that colours its tracebacks (3.13+), given by the test
_py313 = os.environ.get("LT_PYTHON313")
layertrace_interpreters = {"3.13": _py313} if _py313 else {}
html_theme = os.environ.get("LT_THEME", "alabaster")
project = "colour"
copyright = "2026, tests"
version = release = "1"
