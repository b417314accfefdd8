"""``python -m sphinx_layertrace``: see :mod:`sphinx_layertrace.cli`."""

import sys

from sphinx_layertrace.cli import main

sys.exit(main())
