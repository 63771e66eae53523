"""Build-time helpers of the documentation site (imported by ``docs/conf.py``).

* :func:`reset_argv` and :func:`png_scraper`: sphinx-gallery runs each script of
  ``examples/`` with small settings and an output folder of its own, then shows the PNG
  files the script wrote there (the scripts save their figures and close them, so
  sphinx-gallery's matplotlib scraper finds none open).
* :class:`ArchitectureTable`: the ``architecture-table`` directive of "Choosing an
  architecture", generated from :mod:`skfin.registry` and ``benchmarks/results`` on every
  build, so the page never disagrees with the code.
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

#: Arguments each gallery script runs with: small enough for the whole gallery to run in
#: a few minutes on 2 CPU cores (the scripts' own defaults are in their docstrings).
GALLERY_ARGS = {
    "accelerate_lstm": ["--days", "800", "--epochs", "2"],
    "explain_sp500": ["--epochs", "2", "--window", "20", "--days", "800", "--origins", "40"],
    "koopman_spectrum": ["--epochs", "3"],
    "multitask_panel": ["--days", "800", "--epochs", "3"],
    "nbeats_decomposition": ["--epochs", "30"],
    "quickstart": ["--epochs", "2"],
    "technical_indicators": [],
    "tft_calendar": ["--epochs", "2", "--window", "20", "--days", "600"],
    "tune_realized_vol": ["--trials", "4", "--epochs", "3", "--days", "800", "--folds", "2",
                          "--test-size", "100"],
}
#: The flag naming each script's output folder (``--output`` unless listed).
OUTPUT_FLAG = {"technical_indicators": "--output-dir"}

_OUTPUT: list[Path] = []       # the build's scratch folder, made on first use


def _output_dir(src_file) -> Path:
    if not _OUTPUT:
        _OUTPUT.append(Path(tempfile.mkdtemp(prefix="skfin-gallery-")))
    return _OUTPUT[0] / Path(src_file).stem


def _remove_output(app, exception) -> None:
    while _OUTPUT:
        shutil.rmtree(_OUTPUT.pop(), ignore_errors=True)


def reset_argv(gallery_conf, script_vars) -> list[str]:
    """``sys.argv[1:]`` for one gallery script: its small settings and its output folder."""
    stem = Path(script_vars["src_file"]).stem
    if stem not in GALLERY_ARGS:
        raise ValueError(f"examples/{stem}.py has no entry in docs/skfin_docs.py's "
                         "GALLERY_ARGS: add the small settings the gallery runs it with.")
    flag = OUTPUT_FLAG.get(stem, "--output")
    return [*GALLERY_ARGS[stem], flag, str(_output_dir(script_vars["src_file"]))]


def png_scraper(block, block_vars, gallery_conf) -> str:
    """Move the PNG files the script wrote to its output folder into the gallery's images."""
    from sphinx_gallery.scrapers import figure_rst

    folder = _output_dir(block_vars["src_file"])
    written = sorted(folder.glob("*.png")) if folder.is_dir() else []
    paths = []
    for png, target in zip(written, block_vars["image_path_iterator"]):
        shutil.move(png, target)
        paths.append(target)
    return figure_rst(paths, gallery_conf["src_dir"])


# --------------------------------------------------------------------------- architectures

_FAMILY_ORDER = ["feed-forward", "recurrent", "convolutional", "basis", "attention",
                 "state-space", "dynamics"]


def _n_parameters(arch) -> int:
    """Trainable parameters of ``arch``'s net at the forecaster's defaults.

    One input feature, one target, horizon 1, the default (point) head: the size a user
    gets from ``XForecaster().fit(y, fh=[1])`` on a univariate series.
    """
    face = arch.forecaster()
    kwargs = dict(n_features=1, window=face.window, horizon=1, n_targets=1,
                  output=face.output, quantiles=None, **face._net_kwargs())
    params = inspect.signature(arch.net).parameters
    net = arch.net(**{k: v for k, v in kwargs.items() if k in params})
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def _walkforward() -> list[tuple[str, str, dict, dict]]:
    """``(file, command, protocol, {model: median scores})`` per zoo result file."""
    out = []
    for path in sorted(RESULTS.glob("zoo_walkforward_*.json")):
        data = json.loads(path.read_text())
        out.append((path.name, data.get("command", ""), data["protocol"],
                    data["median_over_seeds"]))
    return out


def _yes(flag) -> str:
    return "yes" if flag else "--"


def architecture_rows() -> list[dict]:
    """One dict per registered architecture: what the table on the page shows."""
    from skfin import registry
    from skfin.nets import handles_missing, reads_covariates, reads_time

    rows = []
    for arch in registry.ARCHITECTURES:
        tags = arch.forecaster.get_class_tags()
        explain = arch.tags.get("explain", False)
        rows.append({
            "name": arch.name, "family": arch.family,
            "regressor": arch.regressor.__name__, "forecaster": arch.forecaster.__name__,
            "intervals": _yes(tags.get("capability:pred_int")),
            "explain": (explain if isinstance(explain, str) else _yes(explain)),
            "mc_dropout": _yes(arch.tags.get("mc_dropout")),
            "covariates": "native" if reads_covariates(arch.net) else "shared wrapper",
            "missing": _yes(handles_missing(arch.net)),
            "time_gaps": _yes(reads_time(arch.net)),
            "n_params": _n_parameters(arch),
        })
    order = {f: i for i, f in enumerate(_FAMILY_ORDER)}
    rows.sort(key=lambda r: (order.get(r["family"], len(order)), r["name"]))
    return rows


def _list_table(header: list[str], body: list[list[str]], widths=None) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", ""]
    if widths:
        lines[1:1] = [f"   :widths: {' '.join(map(str, widths))}"]
    for row in [header, *body]:
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}" for cell in row[1:]]
    return lines + [""]


def capability_table() -> list[str]:
    """reST lines: every architecture, its family, faces, tags and size."""
    header = ["name", "family", "sklearn face", "sktime face", "intervals", "MC dropout",
              "explain", "covariates", "missing values (NaN)", "time gaps (dt)", "parameters"]
    body = [[f"``{r['name']}``", r["family"], f":class:`~skfin.regressors.{r['regressor']}`",
             f":class:`~skfin.forecasting.{r['forecaster']}`", r["intervals"],
             r["mc_dropout"],
             r["explain"] if r["explain"] in ("yes", "--") else f"``{r['explain']}``",
             r["covariates"], r["missing"], r["time_gaps"], f"{r['n_params']:,}"]
            for r in architecture_rows()]
    return _list_table(header, body)


def walkforward_table() -> list[str]:
    """reST lines: the zoo benchmark's medians over seeds, one table per result file."""
    from skfin import registry

    registered = {a.name for a in registry.ARCHITECTURES}
    lines = []
    for file, command, protocol, scores in _walkforward():
        described = ", ".join(f"{k}={v}" for k, v in protocol.items())
        lines += [(f"``benchmarks/results/{file}``, written by ``{command}`` ({described}); "
                   "best MAE first:"), ""]
        body = []
        for model, s in sorted(scores.items(), key=lambda item: item[1]["mae"]):
            name = f"``{model}``" if model in registered else f"{model} (baseline)"
            body.append([name, f"{s['mae']:.3f}", f"{s['qlike']:.3f}",
                         *(f"{s[k]:.3f}" if k in s else "--"
                           for k in ("coverage_80", "coverage_90", "coverage_95")),
                         f"{s['fit_seconds']:.1f}", f"{s['total_seconds']:.1f}"])
        lines += _list_table(["model", "MAE", "QLIKE", "coverage 80%", "coverage 90%",
                              "coverage 95%", "first fit (s)", "total (s)"], body)
    return lines


def _directive():
    from docutils import nodes
    from docutils.parsers.rst import Directive, directives
    from docutils.statemachine import StringList

    class ArchitectureTable(Directive):
        """``.. architecture-table:: capabilities`` (or ``walkforward``)."""

        required_arguments = 1
        option_spec = {"class": directives.unchanged}

        def run(self):
            which = self.arguments[0]
            makers = {"capabilities": capability_table, "walkforward": walkforward_table}
            if which not in makers:
                raise self.error(f"architecture-table takes one of {sorted(makers)}, "
                                 f"not {which!r}")
            container = nodes.container()
            self.state.nested_parse(StringList(makers[which](), source="skfin.registry"),
                                    self.content_offset, container)
            return container.children

    return ArchitectureTable


# --------------------------------------------------------------------------- references

def _import(dotted: str):
    """The object at ``dotted`` (``package.module.Class.attr``), or None."""
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for part in parts[cut:]:
                obj = getattr(obj, part)
        except AttributeError:
            return None
        return obj
    return None


def _documented(env) -> dict[int, str]:
    """``{id(object): documented full name}`` for the classes and functions documented."""
    cache = getattr(env, "_skfin_documented", None)
    if cache is None:
        cache = {}
        for name, entry in sorted(env.get_domain("py").objects.items()):
            if entry.objtype in ("class", "function", "method", "exception"):
                obj = _import(name)
                if obj is not None:
                    cache.setdefault(id(obj), name)
        env._skfin_documented = cache
    return cache


def resolve_alias(app, env, node, contnode):
    """Resolve a reference to where the API reference documents the same object.

    skfin's docstrings name objects where they are defined (``skfin.nets.heads.make_head``,
    ``:mod:`skfin.nets.basis```); the reference documents them where users import them
    (``skfin.nets.make_head``, the ``skfin.nets`` section). A reference whose target is
    the *same* object as a documented name resolves to that name; a module that is not
    documented resolves to the nearest documented package above it. Anything else stays
    unresolved, and the ``-W`` build fails on it.
    """
    if node.get("refdomain") != "py":
        return None
    py = env.get_domain("py")
    target, reftype = node["reftarget"], node["reftype"]
    if reftype == "mod":
        if _import(target) is None:          # a misspelt module stays an error
            return None
        parent = target
        while "." in parent:
            parent = parent.rpartition(".")[0]
            if parent in py.modules:
                return py.resolve_xref(env, node["refdoc"], app.builder, "mod", parent,
                                       node, contnode)
        return None
    module, cls = node.get("py:module"), node.get("py:class")
    candidates = [target]
    if module:
        candidates = [*([f"{module}.{cls}.{target}"] if cls else []),
                      f"{module}.{target}", target]
    documented = _documented(env)
    for candidate in candidates:
        obj = _import(candidate)
        name = documented.get(id(obj)) if obj is not None else None
        if name is not None:
            kind = "obj" if reftype in ("func", "meth", "class", "exc", "obj") else reftype
            return py.resolve_xref(env, node["refdoc"], app.builder, kind, name, node,
                                   contnode)
    return None


def skip_member(app, what, name, obj, skip, options):
    """Leave out the ``set_*_request`` methods scikit-learn generates on every estimator.

    They are scikit-learn's metadata-routing API, documented there, not skfin's.
    """
    if "RequestMethod" in getattr(obj, "__qualname__", ""):
        return True
    return None


def dataclass_signature(app, what, name, obj, options, signature, return_annotation):
    """Show a dataclass field's ``default_factory`` as a call (``tags=dict()``).

    ``inspect`` writes it ``<factory>``, which is no Python: Sphinx then cannot parse the
    signature and splits it at every comma, dict defaults included.
    """
    import dataclasses

    if what == "class" and signature and dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            if f.default_factory is not dataclasses.MISSING:
                factory = getattr(f.default_factory, "__name__", "factory")
                signature = signature.replace(f"{f.name}=<factory>", f"{f.name}={factory}()")
    return signature, return_annotation


#: a parameter or attribute line as numpydoc renders it: ``**name** : type``
_PARAM_LINE = re.compile(r"^(\s*\*\*[^*]+\*\* : )(.*)$")


def escape_type_underscores(app, what, name, obj, options, lines):
    """Escape a trailing underscore in the type of a numpydoc entry (after numpydoc ran).

    ``feature_names_in_ : ndarray of shape (n_features_in_,)``, scikit-learn's wording,
    would make ``n_features_in_`` a reST hyperlink to nowhere (an error); the rendered
    text is unchanged.
    """
    for i, line in enumerate(lines):
        found = _PARAM_LINE.match(line)
        if found and "`" not in found.group(2):
            lines[i] = found.group(1) + re.sub(r"(\w)_\b", r"\1\\_", found.group(2))


def setup(app):
    """Register the ``architecture-table`` directive and the reference helpers."""
    app.add_directive("architecture-table", _directive())
    app.connect("missing-reference", resolve_alias)
    app.connect("build-finished", _remove_output)
    app.connect("autodoc-skip-member", skip_member)
    app.connect("autodoc-process-signature", dataclass_signature)
    # after numpydoc's own handler (priority 500) has turned sections into reST
    app.connect("autodoc-process-docstring", escape_type_underscores, priority=600)
    return {"parallel_read_safe": True}
