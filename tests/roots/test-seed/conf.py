import os

extensions = ["sphinx_layertrace"]
layertrace_timeout = 5
layertrace_cache_dir = os.environ.get("LAYERTRACE_TEST_CACHE", ".layertrace-cache")
show_warning_types = True  # the [type.subtype] of warnings on Sphinx 7.3 and 7.4 too
