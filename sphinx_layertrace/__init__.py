"""Run Python snippets at build time and show their real tracebacks, layer by layer."""

__version__ = "0.1.0"
