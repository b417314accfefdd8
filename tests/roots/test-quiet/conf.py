import os

extensions = ["sphinx_layertrace", "sphinx.ext.doctest"]
layertrace_timeout = 5
layertrace_cache_dir = os.environ.get("LAYERTRACE_TEST_CACHE", ".layertrace-cache")
# the snippet leaves this file behind when it runs: proof of whether a builder executed it
layertrace_env = {"LT_MARKER": os.environ.get("LT_MARKER", "")}
project = "quiet"
copyright = "2026, tests"
version = release = "1"
