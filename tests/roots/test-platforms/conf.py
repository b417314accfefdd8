import os

extensions = ["sphinx_layertrace"]
layertrace_timeout = 5
layertrace_cache_dir = os.environ.get("LAYERTRACE_TEST_CACHE", ".layertrace-cache")

import sys

layertrace_interpreters = {"build": sys.executable}
