import os

extensions = ["sphinx_layertrace"]
layertrace_timeout = 5
layertrace_cache_dir = os.environ.get("LAYERTRACE_TEST_CACHE", ".layertrace-cache")
html_theme = os.environ.get("LT_THEME", "alabaster")
project = "themes"
copyright = "2026, tests"
version = release = "1"
# The code above each traceback is highlighted by the project's Pygments style, not by the
# extension: alabaster's and rtd's defaults miss WCAG AA, accessible-pygments' styles meet it.
# pydata-sphinx-theme and sphinx-book-theme choose their own (a11y-high-contrast-*) and ignore it.
pygments_style = "a11y-light"
pygments_dark_style = "a11y-dark"
