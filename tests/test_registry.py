"""The registry is the single source: faces agree with their nets, every parameter is validated once."""

import inspect

import pytest

from skfin._docs import _default_text
from skfin.engine.estimator import _CONTRACT_ARGS, PARAMETER_CONSTRAINTS, check_parameters
from skfin.registry import ARCHITECTURES

#: Deliberate differences between a face's default and its net's, with the reason.
DIFFERENT_DEFAULTS = {
    # RevIN maps outputs back with the first channel's statistics, which on the sklearn face
    # is a feature, not the target: off by default there (documented in the class).
    ("patchtst", "regressor", "revin"): (False, True),
}


def _net_params(net):
    return {k: p.default for k, p in inspect.signature(net).parameters.items()
            if k not in _CONTRACT_ARGS}


@pytest.mark.parametrize("arch", ARCHITECTURES, ids=lambda a: a.name)
def test_faces_take_their_nets_parameters_and_defaults(arch):
    net = _net_params(arch.net)
    for face_name in ("regressor", "forecaster"):
        face = getattr(arch, face_name)().get_params()
        for name, default in net.items():
            assert name in face, f"{face_name} of {arch.name} lacks the net's {name!r}"
            expected = DIFFERENT_DEFAULTS.get((arch.name, face_name, name), (default,))[0]
            assert face[name] == expected, (arch.name, face_name, name, face[name], default)


@pytest.mark.parametrize("arch", ARCHITECTURES, ids=lambda a: a.name)
def test_every_net_parameter_is_declared_by_the_net_and_only_there(arch):
    own = set(_net_params(arch.net))
    assert own <= set(arch.net._parameter_constraints), own - set(arch.net._parameter_constraints)
    assert not own & set(PARAMETER_CONSTRAINTS) - {"window"}


@pytest.mark.parametrize("arch", ARCHITECTURES, ids=lambda a: a.name)
def test_a_bad_net_parameter_is_refused_on_both_faces(arch):
    name = next(k for k, v in arch.net._parameter_constraints.items()
                if any(isinstance(s, tuple) and s[0] in ("integer", "real") for s in v))
    for face in (arch.regressor, arch.forecaster):
        with pytest.raises(ValueError, match=f"The '{name}' parameter of {face.__name__}"):
            check_parameters(face(**{name: -1}), arch.net)


@pytest.mark.parametrize("arch", ARCHITECTURES, ids=lambda a: a.name)
def test_faces_document_each_net_parameter_once_from_the_net(arch):
    for face in (arch.regressor, arch.forecaster):
        for name in _net_params(arch.net):
            lines = [line for line in face.__doc__.splitlines()
                     if line.startswith(f"    {name} :")]
            assert len(lines) == 1, (face.__name__, name, lines)
            default = face().get_params()[name]
            assert lines[0].endswith(f"default={_default_text(default)}"), lines[0]


#: Every tag the registry uses, and what it promises (checked below).
TAGS = {"explain", "mc_dropout", "native_covariates"}


@pytest.mark.parametrize("arch", ARCHITECTURES, ids=lambda a: a.name)
def test_tags_are_known_and_true(arch, real_batch):
    from skfin.nets import reads_covariates

    assert set(arch.tags) <= TAGS, set(arch.tags) - TAGS
    x, _ = real_batch                                          # [64, 20, 2] real windows
    explain = arch.tags.get("explain", False)
    kwargs = {"attention": True} if explain == "attention=True" else {}
    net = arch.net(n_features=2, window=20, horizon=1, n_targets=1, **kwargs).eval()
    if explain:
        parts = net.explain(x)
        assert parts and all(v.shape[0] == len(x) for v in parts.values())
    else:
        assert not hasattr(net, "explain")
    uncertainty = arch.regressor().get_params()["uncertainty"]
    assert (uncertainty == "mc_dropout") == bool(arch.tags.get("mc_dropout"))
    assert reads_covariates(arch.net) == bool(arch.tags.get("native_covariates"))


@pytest.mark.parametrize("arch", ARCHITECTURES, ids=lambda a: a.name)
def test_test_params_are_valid_for_both_faces(arch):
    for config in arch.forecaster.get_test_params():
        for face in (arch.regressor, arch.forecaster):
            names = set(face().get_params())
            check_parameters(face(**{k: v for k, v in config.items() if k in names}), arch.net)
