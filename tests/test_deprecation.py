"""Renamed parameters keep working for one release, with a FutureWarning, everywhere a user
could pass them: the constructor, ``set_params`` (grids), ``clone`` and sktime's ``reset``."""

import inspect

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit

from skfin.nets import TCN, WaveNet
from skfin.registry import ARCHITECTURES

RENAMED_FACES = [(arch.name, face, old, new) for arch in ARCHITECTURES
                 for face in (arch.regressor, arch.forecaster)
                 for old, new in face._renamed_parameters.items()]


def test_every_face_and_net_lists_its_renames():
    # every face renames n_samples; forecasters also scale; the conv nets hidden_size
    assert all(face._renamed_parameters["n_samples"] == "n_draws"
               for arch in ARCHITECTURES for face in (arch.regressor, arch.forecaster))
    assert all(arch.forecaster._renamed_parameters["scale"] == "standardize"
               for arch in ARCHITECTURES)
    assert all("scale" not in arch.regressor._renamed_parameters for arch in ARCHITECTURES)
    for net in (TCN, WaveNet):
        assert net._renamed_parameters == {"hidden_size": "channels"}


@pytest.mark.parametrize("name,face,old,new", RENAMED_FACES,
                         ids=[f"{f.__name__}-{o}" for _, f, o, _ in RENAMED_FACES])
def test_old_name_warns_and_sets_the_new_one(name, face, old, new):
    value = face().get_params()[new]
    value = (not value) if isinstance(value, bool) else value + 1     # not the default
    with pytest.warns(FutureWarning, match=f"'{old}' was renamed '{new}'"):
        model = face(**{old: value})
    assert model.get_params()[new] == value and old not in model.get_params()
    assert old not in inspect.signature(face).parameters             # IDEs see the new name
    assert clone(model).get_params()[new] == value
    with pytest.warns(FutureWarning, match=f"'{old}' was renamed"):
        again = face().set_params(**{old: value})
    assert again.get_params()[new] == value
    with pytest.raises(TypeError, match=f"both '{old}' and its new name '{new}'"):
        face(**{old: value, new: value})


def test_the_net_accepts_its_old_width_name():
    with pytest.warns(FutureWarning, match="'hidden_size' was renamed 'channels'"):
        net = TCN(n_features=2, window=5, horizon=1, n_targets=1, hidden_size=6)
    assert sum(p.numel() for p in net.parameters()) == sum(
        p.numel() for p in TCN(n_features=2, window=5, horizon=1, n_targets=1,
                               channels=6).parameters())


def test_an_old_grid_still_searches(sp500_xy):
    from skfin.regressors import TCNRegressor

    X, y = sp500_xy
    search = GridSearchCV(TCNRegressor(window=5, max_epochs=1, random_state=0),
                          {"hidden_size": [4, 6]}, cv=TimeSeriesSplit(2))
    with pytest.warns(FutureWarning, match="'hidden_size' was renamed 'channels'"):
        search.fit(X.iloc[-300:], y.iloc[-300:])
    assert search.best_estimator_.channels in (4, 6)
    assert np.isfinite(search.best_score_)
