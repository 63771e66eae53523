"""Sphinx configuration of skfin's documentation site.

Build it with ``python3 tasks.py docs`` (into ``docs/_build/html``, warnings as errors,
every gallery example run). ``SKFIN_DOCS_QUICK=1`` skips running the gallery scripts
(``tests/test_docs_site.py`` builds the site that way; ``tests/test_examples.py`` runs
every script).
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS))           # skfin_docs: the gallery and architecture helpers

import skfin  # noqa: E402

QUICK = os.environ.get("SKFIN_DOCS_QUICK", "") not in ("", "0")

# sktime announces a change of default on every forecaster it builds (see skfin/__init__.py)
warnings.filterwarnings("ignore", message="The default of config ``remember_data``",
                        category=FutureWarning)

project = "skfin"
author = "skfin developers"
copyright = "skfin developers"
release = skfin.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "sphinx_copybutton",
    "skfin_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip", "**/*.codeobj.json"]
templates_path = ["_templates"]

# Every cross-reference must resolve: ``:class:`skfin.x.Y``` to a name that is not in the
# API reference is a warning, hence an error under -W. Names of other libraries are not
# documented here (no intersphinx: the build runs offline), so references to them are not
# checked.
nitpicky = True
nitpick_ignore_regex = [
    # other libraries' objects, reached from skfin's signatures, bases and docstrings
    (r"py:.*", (r"(torch|numpy|np|pandas|pd|scipy|sklearn|sktime|skorch|matplotlib|arch|"
                r"pmdarima|exchange_calendars|safetensors|torchdiffeq|torchcde|captum|"
                r"typing|collections|abc|enum|pathlib|os|builtins|dataclasses|functools|"
                r"warnings|_io|io)(\..*)?")),
    # builtin and typing names as numpydoc and autodoc write them
    (r"py:.*", (r"(int|float|str|bool|dict|list|tuple|set|None|object|type|callable|"
                r"Callable|Sequence|Mapping|Iterable|Iterator|Any|Literal|Optional|Union|"
                r"Tensor|Module|DataFrame|Series|ndarray|array-like|Path|PathLike)")),
]
nitpick_ignore = [
    # sktime's docstrings of fit and update, which NeuralForecaster inherits with its
    # methods, use sktime's glossary
    ("std:term", "scitype"),
    ("std:term", "mtype"),
]

# --- autodoc / autosummary / numpydoc
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True}
autodoc_typehints = "none"           # the numpydoc Parameters sections carry the types
autodoc_member_order = "groupwise"
numpydoc_show_class_members = False  # members are listed by autodoc, once
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
# A docstring that documents a parameter the signature lacks (PR02), or writes "name:type"
# (PR10), fails the build. Not yet checked: PR01 (a parameter left undocumented, 82 of
# them, mostly described in prose) and GL08 (55 objects without a docstring).
numpydoc_validation_checks = {"PR02", "PR10"}

# --- MyST: the Markdown guides in docs/*.md and the root CHANGELOG.md
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath"]
myst_heading_anchors = 3

# --- sphinx-gallery: examples/ on real bundled data, plots rendered
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",            # run every script, not only plot_*.py
    "plot_gallery": not QUICK,
    # the docs task runs every example again (an unchanged script with a changed skfin
    # must still run); a quick build's pages, without outputs, are never reused
    "run_stale_examples": not QUICK,
    "reset_argv": "skfin_docs.reset_argv",
    "image_scrapers": ("matplotlib", "skfin_docs.png_scraper"),
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    "show_memory": False,
    "capture_repr": (),
}

# --- HTML
html_theme = "pydata_sphinx_theme"
html_title = f"skfin {release}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path: list[str] = []
html_show_sourcelink = False
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True
