"""Browser tests of the built documentation (pytest -m browser)."""
