"""Continuous-time nets (NeuralODE, NeuralCDE): time gaps, native NaN, solvers, on real data."""

import inspect
import subprocess
import sys

import numpy as np
import pytest
import torch

# Both are in the ``ode`` extra, part of ``test``: a missing one fails the run here
# instead of skipping the module.
import torchcde  # noqa: E402
import torchdiffeq  # noqa: E402, F401

from skfin.datasets import load_wti  # noqa: E402
from skfin.nets import OUTPUTS, NeuralCDE, NeuralODE  # noqa: E402
from skfin.nets.heads import DEFAULT_QUANTILES  # noqa: E402
from skfin.nets.continuous import _control_path, _solvers  # noqa: E402

NETS = [NeuralODE, NeuralCDE]
N_PARAMS = {"point": 1, "quantile": len(DEFAULT_QUANTILES), "gaussian": 2, "student_t": 3}
TINY = {"hidden_size": 8}
WIDTH = {NeuralODE: "ode_hidden", NeuralCDE: "vf_hidden"}


def _tiny(cls, n_features=2, window=5, horizon=2, **kwargs):
    return cls(n_features, window, horizon, 1, **{**TINY, WIDTH[cls]: 8, **kwargs})


@pytest.fixture(scope="module")
def calendar_dt(sp500_xy):
    """Calendar days elapsed before each row of ``real_batch``'s windows: 1, 3 over a
    weekend, more around holidays (``real_batch`` ends at rows 1000..1063, window 20)."""
    X, _ = sp500_xy
    days = np.diff(X.index.to_numpy()).astype("timedelta64[D]").astype(np.float32)
    rows = np.arange(1000, 1064)[:, None] + np.arange(-19, 1)           # [64, 20]
    return torch.tensor(days[rows - 1])                                # gap before each row


@pytest.fixture(scope="module")
def wti():
    """WTI spot as [n, 2]: standardised log price (NaN on the 290 holidays) and the log
    return in percent (NaN on a holiday and the day after), NaN kept as loaded."""
    price = np.log(load_wti().to_numpy())
    level = (price - np.nanmean(price)) / np.nanstd(price)
    ret = 100 * np.diff(price, prepend=np.nan)
    return torch.tensor(np.stack([level, ret], axis=1), dtype=torch.float32)


def _windows(series, ends, window):
    """Windows ``[len(ends), window, F]`` of ``series`` ending at rows ``ends``."""
    rows = torch.as_tensor(ends)[:, None] + torch.arange(1 - window, 1)
    return series[rows]


def _nan_windows(wti, window=8, n=6):
    """Real windows holding NaN: some in the middle, some at the last row, some at the first."""
    nan_rows = torch.nonzero(wti[:, 0].isnan()).flatten()[1:]         # skip row 0's return
    ends = torch.cat([nan_rows[:n // 3] + 3, nan_rows[n // 3:2 * n // 3],
                      nan_rows[2 * n // 3:n] + window - 1])
    x = _windows(wti, ends, window)
    assert x[:, -1].isnan().any() and x[:, 0].isnan().any() and x[:, 1:-1].isnan().any()
    return x


# ----------------------------------------------------------------------------- contract
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("cls", NETS)
def test_shapes_for_every_output(cls, output, real_batch):
    x = real_batch[0][:8, -5:]                                        # [8, 5, 2]
    torch.manual_seed(0)
    out = _tiny(cls, horizon=3, output=output).eval()(x)
    assert out.shape == (8, 3, 1, N_PARAMS[output]) and torch.isfinite(out).all()


@pytest.mark.parametrize("cls", NETS)
def test_short_windows_batch_of_one_float64_and_determinism(cls, real_batch):
    x = real_batch[0][:4]
    for window in (1, 3, 5):
        torch.manual_seed(0)
        net = _tiny(cls, window=window).eval()
        xw = x[:, -window:]
        with torch.no_grad():
            out = net(xw)
            assert out.shape == (4, 2, 1, 1) and torch.isfinite(out).all()
            torch.testing.assert_close(net(xw[1:2]), out[1:2], rtol=1e-5, atol=1e-6)
            assert torch.equal(net(xw), out)                           # eval: deterministic
            out64 = net.double()(xw.double())
        assert out64.dtype == torch.float64
        torch.testing.assert_close(out64.float(), out, rtol=1e-4, atol=1e-5)


def test_declared_attributes_and_constraints():
    for cls in NETS:
        assert cls.reads_time is True
        own = list(inspect.signature(cls).parameters)[6:]             # after quantiles
        assert sorted(cls._parameter_constraints) == sorted(own)
    assert NeuralCDE.handles_missing is True and NeuralODE.handles_missing is False


# ----------------------------------------------------------------------------- time
@pytest.mark.parametrize("cls", NETS)
def test_features_depend_only_on_earlier_rows(cls, real_batch, calendar_dt):
    x, dt = real_batch[0][:4, -8:], calendar_dt[:4, -8:]
    later = x.clone()
    later[:, 5:] = real_batch[0][20:24, -3:]                          # other days' rows
    later_dt = dt.clone()
    later_dt[:, 5:] += 2
    for kwargs in ([{}] if cls is NeuralODE else [{"interpolation": "cubic"},
                                                  {"interpolation": "linear"}]):
        torch.manual_seed(0)
        net = _tiny(cls, window=8, **kwargs).eval()
        with torch.no_grad():
            before, after = net.features(x, dt), net.features(later, later_dt)
        assert before.shape == (4, 8, 8)
        torch.testing.assert_close(after[:, :5], before[:, :5], rtol=0, atol=0)
        assert not torch.allclose(after[:, 5:], before[:, 5:])


@pytest.mark.parametrize("cls", NETS)
def test_time_gaps_matter(cls, real_batch, calendar_dt):
    x, dt = real_batch[0][:8, -6:], calendar_dt[:8, -6:]
    assert (dt > 1).any()                                             # weekends
    torch.manual_seed(0)
    net = _tiny(cls, window=6).eval()
    with torch.no_grad():
        equal = net(x)
        assert torch.equal(net(x, dt=torch.ones(8, 6)), equal)
        calendar = net(x, dt=dt)
        first_gap = dt.clone()
        first_gap[:, 0] = 10.0
        assert torch.equal(net(x, dt=first_gap), calendar)            # dt[:, 0] is ignored
    assert not torch.allclose(calendar, equal, atol=1e-4)
    with pytest.raises(ValueError, match=r"dt must be \[batch, window\]"):
        net(x, dt=dt[:, 1:])


def test_ode_forecast_steps_are_later_states(real_batch):
    """NeuralODE decodes the ODE state at t_last + 1..horizon with one shared head."""
    torch.manual_seed(0)
    net = _tiny(NeuralODE, horizon=3).eval()
    x = real_batch[0][:4, -5:]
    with torch.no_grad():
        out = net(x)[..., 0, 0]                                      # [4, 3]
        h = net.features(x)[:, -1]
    assert not torch.allclose(out[:, 0], out[:, 1])
    torch.testing.assert_close(net.head(h.unsqueeze(1).expand(-1, 3, -1))[:, 0, 0, 0],
                               net.head.proj(h)[:, 0])                # the shared projection


# ----------------------------------------------------------------------------- missing values
@pytest.mark.parametrize("interpolation", ["cubic", "linear"])
def test_cde_reads_real_wti_nan_with_finite_outputs_and_gradients(interpolation, wti):
    x = _nan_windows(wti)                                             # [6, 8, 2]
    torch.manual_seed(0)
    net = _tiny(NeuralCDE, window=8, output="gaussian", interpolation=interpolation)
    out = net(x)
    assert torch.isfinite(out).all()
    out.sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
    # Windows where a feature is never observed: two holidays in a row, one holiday alone.
    run = torch.nonzero(wti[:-1, 0].isnan() & wti[1:, 0].isnan()).flatten()[0] + 1
    for window, ends in ((2, [run]), (1, [run - 1, run])):
        xs = _windows(wti, ends, window)
        assert xs[:, :, 0].isnan().all()
        out = _tiny(NeuralCDE, window=window, interpolation=interpolation)(xs)
        assert torch.isfinite(out).all()


def test_nan_is_neither_zero_nor_the_filled_value(wti):
    """A NaN is read as *missing*: the intensity channel says so, whatever the fill."""
    x = _nan_windows(wti)
    missing = x.isnan()
    filled = _control_path(x, None)[..., 1:3]                         # the interpolated path
    as_zero = torch.where(missing, torch.zeros_like(x), x)
    as_fill = torch.where(missing, filled, x)
    torch.manual_seed(0)
    net = _tiny(NeuralCDE, window=8).eval()
    with torch.no_grad():
        out = net(x)
        for other in (as_zero, as_fill):
            changed = (net(other) - out).abs().amax(dim=(1, 2, 3))   # per window
            assert (changed > 1e-4).all(), changed
    # Same features, only the intensity (observation-count) channels differ.
    path, path_fill = _control_path(x, None), _control_path(as_fill, None)
    torch.testing.assert_close(path[..., :3], path_fill[..., :3], rtol=0, atol=0)
    assert not torch.equal(path[..., 3:], path_fill[..., 3:])


def test_fill_is_torchcde_s_and_linear_in_time(wti):
    x = _nan_windows(wti, window=10)
    ours = _control_path(x, None)[..., 1:3]
    torch.testing.assert_close(ours, torchcde.linear_interpolation_coeffs(x), rtol=0, atol=1e-6)
    # With unequal gaps the fill is linear in time, not in row count.
    b, k = torch.nonzero(x[:, 1:-1, 0].isnan() & ~x[:, :-2, 0].isnan()
                         & ~x[:, 2:, 0].isnan())[0].tolist()
    k += 1                                                            # one NaN between two values
    dt = torch.ones(x.shape[:2])
    dt[b, k] = 3.0                                                    # 3 days before the NaN
    level = _control_path(x, dt)[b, :, 1]
    expected = x[b, k - 1, 0] + 3 / 4 * (x[b, k + 1, 0] - x[b, k - 1, 0])
    torch.testing.assert_close(level[k], expected)


# ----------------------------------------------------------------------------- solvers
@pytest.mark.parametrize("cls", NETS)
def test_adjoint_gives_the_same_gradients(cls, real_batch):
    x = real_batch[0][:3, -4:].double()
    grads = []
    for adjoint in (False, True):
        torch.manual_seed(0)
        net = _tiny(cls, window=4, hidden_size=4, solver="dopri5", rtol=1e-8, atol=1e-10,
                    adjoint=adjoint).double()
        net(x).pow(2).sum().backward()
        grads.append(torch.cat([p.grad.flatten() for p in net.parameters()]))
    assert grads[0].abs().max() > 1e-3
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("cls", NETS)
def test_bad_solver_settings_raise_clear_errors(cls):
    with pytest.raises(ValueError, match=r"the torchdiffeq solvers are \[.*'dopri5'.*'rk4'"):
        _tiny(cls, solver="rk5")
    with pytest.raises(ValueError, match="outside autograd"):
        _tiny(cls, solver="scipy_solver")
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="0 < step_size <= 1"):
            _tiny(cls, step_size=bad)
    with pytest.raises(ValueError, match="rtol > 0"):
        _tiny(cls, rtol=0.0)
    if cls is NeuralCDE:
        with pytest.raises(ValueError, match="interpolation='spline'"):
            _tiny(cls, interpolation="spline")


@pytest.mark.parametrize("cls", NETS)
def test_every_solver_runs(cls, real_batch):
    x = real_batch[0][:2, -3:]
    assert "scipy_solver" not in _solvers() and {"rk4", "dopri5", "euler"} <= set(_solvers())
    for solver in _solvers():
        torch.manual_seed(0)
        with torch.no_grad():
            out = _tiny(cls, window=3, hidden_size=4, solver=solver, step_size=1.0)(x)
        assert torch.isfinite(out).all(), solver


# ----------------------------------------------------------------------------- training
@pytest.mark.parametrize("cls", NETS)
def test_overfits_one_real_batch(cls, real_batch, overfit):
    x, y = real_batch
    torch.manual_seed(0)
    net = cls(2, 10, 1, 1, hidden_size=16)
    first, last = overfit(net, (x[:32, -10:],), y[:32], steps=200)
    assert last < 0.1 * first, (first, last)


# ----------------------------------------------------------------------------- optional deps
def test_missing_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchdiffeq", None)             # import -> ImportError
    with pytest.raises(ImportError, match=r"skfin\[ode\]"):
        NeuralODE(1, 5, 1, 1)
    monkeypatch.setitem(sys.modules, "torchcde", None)
    with pytest.raises(ImportError, match=r"skfin\[ode\]"):
        NeuralCDE(1, 5, 1, 1)


def test_skfin_nets_imports_without_the_extra():
    code = ("import sys; sys.modules['torchdiffeq'] = sys.modules['torchcde'] = None; "
            "import skfin.nets; print(skfin.nets.NeuralODE.__name__)")
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "NeuralODE", done.stderr
