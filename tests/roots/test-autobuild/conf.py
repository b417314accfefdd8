import os

extensions = ["sphinx_layertrace"]
layertrace_timeout = 5
# unset: the default, <confdir>/.layertrace-cache, inside the tree sphinx-autobuild watches
if os.environ.get("LT_AUTOBUILD_CACHE"):
    layertrace_cache_dir = os.environ["LT_AUTOBUILD_CACHE"]
# every snippet appends its name here when it runs: which snippets a rebuild ran, exactly
layertrace_env = {"LT_RUNS": os.environ.get("LT_RUNS", "")}
project = "autobuild"
copyright = "2026, tests"
version = release = "1"
