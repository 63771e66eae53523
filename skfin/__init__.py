"""skfin: deep-learning forecasters for financial time series, as scikit-learn and sktime estimators."""

__version__ = "0.1.0.dev0"

import warnings as _warnings

# sktime 1.2 warns on every forecaster it builds that its ``remember_data`` default will
# change in 1.3. skfin's forecasters set it themselves; the warning reaches users only
# through sktime's own estimators used next to skfin's, and says nothing they can act on.
_warnings.filterwarnings(
    "ignore", message="The default of config ``remember_data``", category=FutureWarning)

__all__ = ["load"]


def __getattr__(name):
    # ``skfin.load`` without importing torch at ``import skfin``: see skfin.persistence.
    if name == "load":
        from skfin.persistence import load

        return load
    raise AttributeError(f"module 'skfin' has no attribute {name!r}")
