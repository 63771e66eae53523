"""Command line: ``skfin backtest`` (also ``python -m skfin backtest``).

A walk-forward backtest of registered architectures and classical baselines on the real
data bundled with skfin's dependencies: a progress bar, a leaderboard on stdout, and
``leaderboard.csv``, ``folds.csv``, ``forecasts.csv`` and PNG plots in ``--output``.
The engine is :func:`skfin.model_selection.backtest`; the plots are :mod:`skfin.plotting`.

Series used per data set (``--dataset``): the ``Close`` column of the daily OHLCV sets
(``sp500``, ``nasdaq``, ``msft``; an index's ``Close`` equals its ``Adj Close``, MSFT's is
split-adjusted), the one series of ``wti``, ``vix``, ``core_cpi`` and ``airline``,
``Brent`` of ``crude``, the default spread ``BAA - AAA`` of ``default_spread``, and the
market excess return ``Mkt-RF`` of ``fama_french`` (already a return, in percent per
month). Missing values are dropped with a note (WTI's 290 holidays, VIX's 46); the series
is then counted in observations (trading days or months), and the dates are kept for
the plots. A loader added to :data:`skfin.datasets.LOADERS` later is used as well: its
``Close`` column, else its first column.

Targets (``--target``): ``returns``, log returns in percent, ``100 log(p_t / p_{t-1})``
(Fama-French: the returns as published); ``realized_vol``, the realized volatility over
``--vol-window`` observations, ``sqrt(sum of the squared percent log returns)``, with the
returns passed to every model as exogenous ``X`` (observed up to each cutoff only);
``close``, the level itself.

Only argument parsing, data preparation and printing are written here.
"""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["main", "build_parser", "load_target", "DATASET_SERIES"]

#: Column (or rule) used per data set, and whether it is a price-like level or a return.
DATASET_SERIES = {
    "sp500": ("Close", "level"),
    "nasdaq": ("Close", "level"),
    "msft": ("Close", "level"),
    "wti": (None, "level"),
    "vix": (None, "level"),
    "core_cpi": (None, "level"),
    "airline": (None, "level"),
    "crude": ("Brent", "level"),
    "default_spread": ("BAA - AAA", "level"),
    "fama_french": ("Mkt-RF", "returns"),
}

_TARGET_KIND = {"returns": "returns", "realized_vol": "volatility", "close": "level"}
_DEFAULT_BASELINES = {"returns": "naive,naive_mean,ets", "close": "naive,ets",
                      "realized_vol": "naive,ets,garch"}
_DEFAULTS = {"dataset": "sp500", "target": "returns", "models": "mlp,lstm", "horizon": 5,
             "folds": 50, "window": 30, "epochs": 10, "last": 2500, "vol_window": 5,
             "output": "skfin-output", "seed": 0, "device": "auto",
             "threads": 1}
#: Warnings that say nothing about this run: not shown among the notes.
_QUIET_WARNINGS = (
    # sktime 1.2 announces a change of default on every forecaster it builds
    (r"The default of config ``remember_data``", FutureWarning),
    # AutoETS refits on update (which is what the backtest wants) and skips multiplicative
    # models for series with negative values (returns)
    (r".*AutoETS does not have a custom `update` method", UserWarning),
    (r".*time series is not strictly positive, multiplicative components", UserWarning),
)


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line: ``skfin: error: ...`` (then exit status 2)."""

    def error(self, message):
        self.exit(2, f"skfin: error: {message}\n")


def _default_text(default) -> str:
    """An option's default as typed on the command line: lists space-separated, flags off/on.

    Examples
    --------
    >>> _default_text([0.8, 0.9, 0.95]), _default_text(False)
    ('0.8 0.9 0.95', 'off')
    >>> _default_text(Path("skfin-output"))
    'skfin-output'
    """
    if isinstance(default, bool):
        return "on" if default else "off"
    if isinstance(default, (list, tuple)):
        return " ".join(map(str, default))
    return str(default)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's default exactly once, at the end of its help: ``(default: ...)``.

    A help text that states its default itself (``default: ...``, when it depends on other
    options) is left as written, and so is an option without a default (None). Defaults
    read as typed on the command line (:func:`_default_text`), and lines never break
    inside a word such as ``skfin-output``.
    """

    def _get_help_string(self, action):
        text = action.help or ""
        if (not action.option_strings or action.default in (None, argparse.SUPPRESS)
                or "default:" in text):
            return text
        return f"{text} (default: {_default_text(action.default).replace('%', '%%')})"

    def _split_lines(self, text, width):
        import textwrap

        text = self._whitespace_matcher.sub(" ", text).strip()
        return textwrap.wrap(text, width, break_on_hyphens=False)


# ---------------------------------------------------------------------------------------
# argument types
# ---------------------------------------------------------------------------------------
def _int_at_least(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}; got {text!r}"
                                             ) from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}; got {value}")
        return value
    parse.__name__ = f"integer >= {low}"
    return parse


def _open_unit(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1); got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1); got {text}")
    return value


def _versions() -> str:
    """skfin's version and those of the libraries its numbers depend on."""
    from importlib.metadata import PackageNotFoundError, version

    import skfin

    parts = [f"skfin {skfin.__version__}"]
    for name in ("torch", "skorch", "scikit-learn", "sktime", "pandas"):
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:  # pragma: no cover - all are core dependencies
            parts.append(f"{name} (not installed)")
    return " | ".join(parts)


def build_parser() -> argparse.ArgumentParser:
    """The ``skfin`` argument parser (subcommand ``backtest``)."""
    from skfin.datasets import LOADERS

    parser = _Parser(prog="skfin", description="skfin: deep-learning forecasters for "
                     "financial time series. Run 'skfin backtest --help' for the backtest.")
    parser.add_argument("--version", action="version", version=_versions())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    bt = sub.add_parser(
        "backtest", help="walk-forward backtest of models and baselines on bundled data",
        description="Expanding-window walk-forward backtest of registered architectures and "
                    "classical baselines on real bundled data: prints a leaderboard and "
                    "writes CSV files and plots.",
        formatter_class=_HelpFormatter)
    # sub-parsers are built by the parent's class, so errors are one line there too
    d = _DEFAULTS
    bt.add_argument("--dataset", default=d["dataset"],
                    help=f"bundled data set: {', '.join(sorted(LOADERS))}")
    bt.add_argument("--target", default=d["target"], choices=sorted(_TARGET_KIND),
                    help="log returns (%%), realized volatility, or the level itself")
    bt.add_argument("--models", default=d["models"],
                    help="comma-separated registered architectures, 'all' or 'none'")
    bt.add_argument("--baselines", default=None,
                    help="comma-separated baselines (naive, naive_mean, ets; garch_t for "
                         "returns; garch, gjr_garch_t, ewma, har for realized_vol) or "
                         "'none' (default: naive,naive_mean,ets for returns; naive,ets for "
                         "close; naive,ets,garch for realized_vol)")
    bt.add_argument("--horizon", type=_int_at_least(1), default=d["horizon"],
                    help="forecast steps 1..H from every cutoff")
    bt.add_argument("--folds", type=_int_at_least(1), default=d["folds"],
                    help="number of walk-forward cutoffs")
    bt.add_argument("--step", type=_int_at_least(1), default=None,
                    help="observations between cutoffs (default: the horizon)")
    bt.add_argument("--window", type=_int_at_least(1), default=d["window"],
                    help="past observations each neural forecast reads")
    bt.add_argument("--epochs", type=_int_at_least(1), default=d["epochs"],
                    help="maximum training epochs of the first fit (later folds fine-tune "
                         "1 epoch)")
    bt.add_argument("--coverage", type=_open_unit, nargs="+", default=[0.8, 0.9, 0.95],
                    help="nominal coverages of the prediction intervals")
    bt.add_argument("--vol-window", type=_int_at_least(1), default=d["vol_window"],
                    help="observations in the realized volatility")
    bt.add_argument("--last", type=_int_at_least(1), default=d["last"],
                    help="use only the last N observations of the target")
    bt.add_argument("--conformal", choices=["none", "split", "aci"], default="none",
                    help="wrap the neural models in skfin.uncertainty.ConformalForecaster")
    bt.add_argument("--conformal-scaling", choices=["ewma", "none"], default="ewma",
                    help="conformal scores: errors over a causal EWMA scale of past errors "
                         "(keeps coverage where volatility clusters), or absolute errors")
    bt.add_argument("--reference", default=None, metavar="MODEL",
                    help="test every model against this one (a name from --models or "
                         "--baselines, e.g. garch): Diebold-Mariano p-values in the "
                         "leaderboard, significance.csv and coverage_tests.csv (Kupiec, "
                         "Christoffersen) (default: none)")
    bt.add_argument("--device", default=d["device"], help="auto, cpu, cuda, cuda:N or mps")
    bt.add_argument("--threads", type=_int_at_least(1), default=d["threads"],
                    help="torch CPU threads (of each worker, with --backend); skfin's "
                         "small nets train fastest on one (more threads only contend with "
                         "each other)")
    bt.add_argument("--backend", choices=["loky", "dask", "ray"], default=None,
                    help="run the walk-forward in parallel: loky (processes on this "
                         "machine), dask (a local cluster, or --scheduler) or ray; models "
                         "walk in parallel (folds too with a refit), each worker training "
                         "on --threads torch threads, with the serial run's numbers "
                         "(default: serial)")
    bt.add_argument("--n-jobs", type=_int_at_least(1), default=None, metavar="N",
                    help="workers of --backend on this machine (default: every CPU)")
    bt.add_argument("--scheduler", default=None, metavar="ADDRESS",
                    help="address of a running dask.distributed scheduler (e.g. "
                         "tcp://10.0.0.1:8786) for --backend dask, or of a Ray cluster for "
                         "--backend ray (default: a local cluster of --n-jobs workers)")
    bt.add_argument("--seed", type=int, default=d["seed"], help="random_state of the models")
    bt.add_argument("--output", type=Path, default=Path(d["output"]),
                    help="folder for the CSV files and plots")
    bt.add_argument("--quiet", action="store_true",
                    help="no progress bar, header or notes; only the leaderboard")
    return parser


# ---------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------
def _raw_series(dataset: str) -> tuple[pd.Series, str, str]:
    """The series of ``dataset``, its description and its kind ("level" or "returns")."""
    from skfin.datasets import LOADERS

    data = LOADERS[dataset]()
    column, kind = DATASET_SERIES.get(dataset, (None, "level"))
    if isinstance(data, pd.DataFrame):
        if column == "BAA - AAA":
            series = data["BAA"] - data["AAA"]
        elif column is not None:
            series = data[column]
        else:
            column = "Close" if "Close" in data.columns else data.columns[0]
            series = data[column]
        label = f"{dataset} {column}"
    else:
        series, label = data, f"{dataset} {data.name}"
    return series.astype(float).rename(dataset), label, kind


def load_target(dataset: str, target: str, *, vol_window: int = 5, last: int | None = None):
    """Build the backtest series for ``dataset`` and ``target``, as ``skfin backtest`` does.

    Parameters
    ----------
    dataset : str
        A key of :data:`skfin.datasets.LOADERS`.
    target : {"returns", "realized_vol", "close"}
    vol_window : int, default=5
        Observations in the realized volatility.
    last : int or None, default=None
        Keep only the last ``last`` observations of the target.

    Returns
    -------
    y : pandas.Series
        The target, with an integer index (observations counted from 0).
    X : pandas.DataFrame or None
        The percent log returns for ``realized_vol`` (same index as ``y``), else None.
    dates : pandas.Index
        The original time stamp of each observation of ``y``.
    notes : list of str
        What was dropped or assumed, for the user.

    Examples
    --------
    >>> from skfin.cli import load_target
    >>> y, X, dates, notes = load_target("wti", "returns", last=1000)
    >>> len(y), X is None, str(dates[-1].date())
    (1000, True, '2019-01-03')
    >>> notes[0]
    'wti: dropped 290 missing values (e.g. exchange holidays) before computing the target.'
    """
    series, label, kind = _raw_series(dataset)
    notes = []
    missing = int(series.isna().sum())
    if missing:
        notes.append(f"{dataset}: dropped {missing} missing values (e.g. exchange holidays) "
                     "before computing the target.")
        series = series.dropna()
    if target == "close":
        if kind == "returns":
            raise ValueError(f"{label} holds returns, not prices; use --target returns or "
                             "realized_vol.")
        y, X = series, None
    else:
        if kind == "returns":
            r = series
        else:
            if (series <= 0).any():
                raise ValueError(f"{label} has values <= 0, so log returns are undefined; "
                                 "use --target close.")
            r = 100 * np.log(series).diff()
        r = r.dropna().rename("returns")
        if target == "returns":
            y, X = r.rename(dataset), None
        else:
            rv = np.sqrt((r ** 2).rolling(vol_window).sum()).dropna()
            y, X = rv.rename(f"{dataset}_rv{vol_window}"), r.loc[rv.index].to_frame()
    if last is not None:
        y = y.iloc[-last:]
        X = None if X is None else X.iloc[-last:]
    dates = y.index
    y = y.reset_index(drop=True)
    if X is not None:
        X = X.reset_index(drop=True)
    return y, X, dates, notes


def _periods_per_year(dates: pd.Index) -> float:
    if isinstance(dates, pd.PeriodIndex):
        return {"M": 12.0, "Q": 4.0, "Y": 1.0, "A": 1.0}.get(dates.freqstr[0], 12.0)
    return 252.0


# ---------------------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------------------
def _names(text: str, valid: list[str], what: str, parser) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["none"]:
        return []
    if names == ["all"]:
        return list(valid)
    unknown = [n for n in names if n not in valid]
    if unknown or not names:
        bad = repr(unknown[0]) if unknown else f"list {text!r}"
        parser.error(f"unknown {what} {bad} in --{what}s; choose from {', '.join(valid)} "
                     "(comma-separated), 'all' or 'none'")
    return list(dict.fromkeys(names))


def _neural(arch, args, levels, calibration):
    params = arch.forecaster().get_params(deep=False)
    wanted = dict(window=args.window, max_epochs=args.epochs, output="quantile",
                  quantiles=levels, update_epochs=1, device=args.device,
                  random_state=args.seed, verbose=0)
    model = arch.forecaster(**{k: v for k, v in wanted.items() if k in params})
    if args.conformal == "none":
        return arch.name, model
    from skfin.uncertainty import ConformalForecaster

    suffix = "" if args.conformal_scaling == "ewma" else "-unscaled"
    return (f"{arch.name}+{args.conformal}{suffix}",
            ConformalForecaster(model, method=args.conformal, calibration_size=calibration,
                                scaling=args.conformal_scaling))


def _print_board(board: pd.DataFrame, target: str, coverage) -> None:
    from skfin.model_selection._backtest import coverage_label

    cols = ["mae", "rmse", "direction"]
    cols += ["sharpe"] if target == "returns" else []
    cols += ["qlike"] if target == "realized_vol" else []
    cols += ["pinball"]
    cols += [f"coverage_{coverage_label(c)}" for c in coverage]
    cols += [f"width_{coverage_label(c)}" for c in coverage]
    cols += ["total_seconds", "dm_pvalue", "vs_reference"]
    shown = board[[c for c in cols if c in board.columns]].rename(
        columns=lambda c: c.replace("coverage_", "cov_").replace("total_seconds", "seconds"))
    print(shown.to_string(float_format=lambda v: f"{v:.3f}", na_rep="-"))


# ---------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """Run ``skfin`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    Examples
    --------
    >>> from skfin.cli import main
    >>> main(["backtest", "--horizon", "0"])
    Traceback (most recent call last):
    ...
    SystemExit: 2
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    return _backtest(args, parser)


def _backtest(args, parser) -> int:
    from skfin.baselines import BASELINES, make_baseline
    from skfin.datasets import LOADERS
    from skfin.engine.device import resolve_device
    from skfin.model_selection import WorkerDiedError, backtest
    from skfin.nets.heads import DEFAULT_QUANTILES
    from skfin.registry import ARCHITECTURES

    if args.dataset not in LOADERS:
        parser.error(f"unknown dataset {args.dataset!r}; choose from "
                     f"{', '.join(sorted(LOADERS))}")
    kind = _TARGET_KIND[args.target]
    arch_names = [a.name for a in ARCHITECTURES]
    models = _names(args.models, arch_names, "model", parser)
    baselines = _names(args.baselines or _DEFAULT_BASELINES[args.target], list(BASELINES),
                       "baseline", parser)
    for name in baselines:
        if kind not in BASELINES[name][1]:
            parser.error(f"baseline {name!r} does not forecast {args.target}; it suits "
                         f"--target realized_vol only")
    if args.reference is not None and args.reference not in (*models, *baselines):
        parser.error(f"--reference {args.reference} is not among the models run; choose "
                     f"one of: {', '.join((*models, *baselines))}")
    if not models and not baselines:
        parser.error("nothing to backtest: --models and --baselines are both 'none'")
    if args.backend is None and (args.n_jobs is not None or args.scheduler is not None):
        option = "--n-jobs" if args.n_jobs is not None else "--scheduler"
        parser.error(f"{option} needs --backend (loky, dask or ray); without it the "
                     "backtest runs serially")
    if args.scheduler is not None and args.backend == "loky":
        parser.error(f"--scheduler {args.scheduler} needs --backend dask (or ray); loky "
                     "runs on this machine")
    if args.backend is not None:
        from skfin.model_selection._parallel import check_backend

        try:
            check_backend(args.backend, args.n_jobs, args.scheduler)
        except ImportError as exc:
            parser.error(str(exc))
    if models:
        try:
            resolve_device(args.device)
        except (TypeError, ValueError) as exc:
            parser.error(f"--device {args.device!r}: {exc}")
    if args.conformal != "none" and models:
        try:
            import skfin.uncertainty  # noqa: F401
        except ImportError as exc:
            parser.error(f"--conformal {args.conformal} needs skfin.uncertainty."
                         f"ConformalForecaster, which this installation lacks ({exc})")

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        parser.error('the backtest plots need matplotlib: pip install "skfin[plotting]"')
    try:
        y, X, dates, notes = load_target(args.dataset, args.target,
                                         vol_window=args.vol_window, last=args.last)
    except (ImportError, ValueError) as exc:
        parser.error(str(exc))

    step = args.step or args.horizon
    min_train = 2 * (args.window + args.horizon) if models else 10
    first_train = len(y) - (args.folds - 1) * step - args.horizon
    calibration = min(250, max(first_train // 4, 1))
    if args.conformal != "none" and models:
        min_train += 2 * args.horizon + 20
    if first_train < min_train:
        need = min_train + (args.folds - 1) * step + args.horizon
        parser.error(
            f"series too short for the settings: {args.folds} folds {step} apart, "
            f"horizon {args.horizon} and at least {min_train} training observations need "
            f"{need} observations; {args.dataset} {args.target} has {len(y)} (--last "
            f"{args.last}). Lower --folds, --horizon or --window, or raise --last")

    coverage = sorted(set(args.coverage))
    bounds = {round((1 - c) / 2, 10) for c in coverage} | {round((1 + c) / 2, 10)
                                                             for c in coverage}
    levels = tuple(sorted(set(DEFAULT_QUANTILES) | bounds | {0.5}))
    with warnings.catch_warnings():
        for message, category in _QUIET_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category)
        forecasters = {}
        for arch in ARCHITECTURES:
            if arch.name in models:
                name, model = _neural(arch, args, levels, calibration)
                forecasters[name] = model
        for name in baselines:
            forecasters[name] = make_baseline(name, target=kind, vol_window=args.vol_window,
                                              random_state=args.seed)

    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))
    span = f"{str(dates[0])[:10]} .. {str(dates[-1])[:10]}"
    say(f"skfin backtest: {args.dataset}, target {args.target}, {len(y)} observations "
        f"({span}); {args.folds} folds, {step} apart, horizon 1..{args.horizon}")
    say(f"models: {', '.join(forecasters)}")
    for note in notes:
        say(f"note: {note}")

    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for message, category in _QUIET_WARNINGS:
                warnings.filterwarnings("ignore", message=message, category=category)
            result = backtest(forecasters, y, X, fh=args.horizon, folds=args.folds,
                              step=step, min_train_size=min(min_train, first_train),
                              coverage=coverage, target=kind,
                              periods_per_year=_periods_per_year(dates), errors="warn",
                              progress=not args.quiet, backend=args.backend,
                              n_jobs=args.n_jobs, scheduler=args.scheduler,
                              threads=args.threads)
    except (ConnectionError, WorkerDiedError) as exc:
        print(f"skfin: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    finally:
        torch.set_num_threads(threads)
    seen = {}
    for w in caught:
        if any(re.match(message, str(w.message)) and issubclass(w.category, category)
               for message, category in _QUIET_WARNINGS):
            continue        # some libraries reset the warning filters inside their code
        key = f"{w.category.__name__}: {str(w.message).splitlines()[0]}"
        seen[key] = seen.get(key, 0) + 1
    for key, count in seen.items():
        say(f"note: {key}" + (f" (x{count})" if count > 1 else ""))
    if not result.models:
        print(f"skfin: error: every model failed: {result.failures}", file=sys.stderr)
        return 1

    from skfin.plotting import save_backtest_plots

    reference = args.reference if args.reference in result.models else None
    if args.reference is not None and reference is None:
        print(f"skfin: warning: --reference {args.reference} has no results (models: "
              f"{', '.join(result.models)}); no significance tests", file=sys.stderr)
    board = result.leaderboard(reference=reference)
    out = args.output
    out.mkdir(parents=True, exist_ok=True)
    board.to_csv(out / "leaderboard.csv")
    extra = []
    if reference is not None:
        result.significance(reference).to_csv(out / "significance.csv")
        extra.append("significance.csv")
    tests = result.coverage_tests()
    if len(tests):
        tests.to_csv(out / "coverage_tests.csv")
        extra.append("coverage_tests.csv")
    result.folds.assign(cutoff_date=dates[result.y.index.get_indexer(result.folds["cutoff"])]
                        ).to_csv(out / "folds.csv", index=False)
    result.forecasts.assign(date=dates[result.forecasts["position"].to_numpy()]
                            ).to_csv(out / "forecasts.csv", index=False)
    ylabel = {"returns": "log return (%)", "realized_vol": f"{args.vol_window}-day realized "
              "volatility (%)", "close": "level"}[args.target]
    plots = save_backtest_plots(result, out, dates=dates, ylabel=ylabel)

    _print_board(board, args.target, coverage)
    written = ["leaderboard.csv", "folds.csv", "forecasts.csv", *extra,
               *(p.name for p in plots)]
    print(f"\nwrote {', '.join(written)} to {out}")
    if result.failures:
        for name, message in result.failures.items():
            print(f"skfin: warning: {name} failed and is left out: {message}",
                  file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
