"""The ``audit`` stage: pasted ``>>>`` sessions of a docs tree, run again and judged.

``find`` reads the pages as text (no Sphinx: a rewrite needs exact lines), ``run`` sends each
page's examples to one engine child, ``compare`` judges each block with doctest's own rules,
``rewrite`` turns traceback blocks into ``layertrace`` snippets, ``report`` prints, and
``command`` is the ``audit`` subcommand.
"""
