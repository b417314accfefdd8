extensions = ["myst_parser", "sphinx_layertrace"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
layertrace_timeout = 5
