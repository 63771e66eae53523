"""State-space nets: Mamba's parallel scan and S4D's FFT convolution against their
recurrences, initialisations, causality, heads, training and errors, on real windows.

``real_batch`` holds 64 windows of 20 days of standardised S&P 500 features (return and
range). The agreement tests run in float64, where the parallel forms must match the
step-by-step references to 1e-5 (they do to about 1e-12).
"""

import inspect
import math
import pickle

import pytest
import torch

from skfin.nets.heads import DEFAULT_QUANTILES
from skfin.nets import OUTPUTS
from skfin.nets.state_space import (
    S4D,
    Mamba,
    fft_causal_conv,
    linear_scan,
    s4d_kernel,
    s4d_recurrence,
    selective_scan,
    selective_scan_reference,
)

NETS = [Mamba, S4D]
N_PARAMS = {"point": 1, "quantile": len(DEFAULT_QUANTILES), "gaussian": 2, "student_t": 3}
REFERENCE = {Mamba: ("parallel", "sequential"), S4D: ("fft", "recurrence")}
CONTRACT = {"n_features", "window", "horizon", "n_targets", "output", "quantiles"}


def _net(cls, window=20, horizon=3, **params):
    torch.manual_seed(0)
    return cls(n_features=2, window=window, horizon=horizon, n_targets=1, **params)


def _body_grads(net):
    """Gradients of every parameter but the head's (the representation does not reach it)."""
    return [p.grad.clone() for name, p in net.named_parameters() if not name.startswith("head.")]


def _scan_inputs(x):
    """Mamba's selective-scan inputs ``u, Δ, A, B, C, D`` at its first block, on ``x``."""
    net = _net(Mamba).double()
    mixer = net.mixers[0]
    u, delta, A, B, C, _ = mixer.ssm_inputs(net.norms[0](net.embed(x)))
    return [t.detach() for t in (u, delta, A, B, C, mixer.D)]


# ------------------------------------------------------------------ the tensor contract
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("cls", NETS)
def test_shapes_for_every_head(cls, output, real_batch):
    x, _ = real_batch
    net = _net(cls, output=output).eval()
    with torch.no_grad():
        out = net(x)
    assert out.shape == (64, 3, 1, N_PARAMS[output]) and out.dtype == torch.float32
    assert torch.isfinite(out).all()
    assert net.features(x).shape == (64, 20, 32)


@pytest.mark.parametrize("window", [1, 3, 5])
@pytest.mark.parametrize("cls", NETS)
def test_short_windows_and_a_batch_of_one(cls, window, real_batch):
    x, _ = real_batch
    net = _net(cls, window=window).eval()
    with torch.no_grad():
        out = net(x[:1, -window:])
        method = REFERENCE[cls][1]
        torch.testing.assert_close(net.features(x[:1, -window:]),
                                   net.features(x[:1, -window:], method), atol=1e-5, rtol=0)
    assert out.shape == (1, 3, 1, 1) and torch.isfinite(out).all()


@pytest.mark.parametrize("cls", NETS)
def test_every_parameter_gets_a_finite_gradient(cls, real_batch):
    x, y = real_batch
    net = _net(cls, output="gaussian")
    out = net(x)
    loss = torch.nn.GaussianNLLLoss()(out[..., 0], y.expand(-1, 3, -1), out[..., 1] ** 2)
    loss.backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("cls", NETS)
def test_eval_is_deterministic_and_float64_works(cls, real_batch):
    x, _ = real_batch
    net = _net(cls).eval()
    with torch.no_grad():
        torch.testing.assert_close(net(x), net(x), rtol=0, atol=0)
        out64 = net.double()(x.double())
    assert out64.dtype == torch.float64 and torch.isfinite(out64).all()


@pytest.mark.parametrize("cls", NETS)
def test_mixed_precision_keeps_the_scan_in_float32(cls, real_batch):
    """Under bfloat16 autocast the forecasts stay within bfloat16 rounding of float32's."""
    x, _ = real_batch
    net = _net(cls).eval()
    with torch.no_grad():
        reference = net(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = net(x)
    assert torch.isfinite(low).all()
    torch.testing.assert_close(low.float(), reference, rtol=0, atol=0.05)


@pytest.mark.parametrize("cls", NETS)
def test_pickles(cls, real_batch):
    x, _ = real_batch
    net = _net(cls).eval()
    copy = pickle.loads(pickle.dumps(net))
    with torch.no_grad():
        torch.testing.assert_close(copy(x), net(x), rtol=0, atol=0)


# ------------------------------------------------------------------ Mamba: the scan
def test_linear_scan_matches_the_loop_and_passes_gradcheck(real_batch):
    x, _ = real_batch
    x = x.double()
    for length in (1, 2, 3, 7, 16, 20):            # odd and even lengths at every level
        b = x[:3, :length]                          # [3, L, 2] real features
        log_a = -torch.nn.functional.softplus(x[3:6, :length])   # decays from other days
        state, states = torch.zeros(3, 2, dtype=torch.float64), []
        for t in range(length):
            state = log_a[:, t].exp() * state + b[:, t]
            states.append(state)
        torch.testing.assert_close(linear_scan(log_a, b), torch.stack(states, 1),
                                   rtol=0, atol=1e-12)
    log_a = log_a.clone().requires_grad_()
    b = b.clone().requires_grad_()
    assert torch.autograd.gradcheck(linear_scan, (log_a, b))


def test_selective_scan_equals_the_sequential_reference(real_batch):
    x, _ = real_batch
    inputs = _scan_inputs(x.double())                          # u, Δ, A, B, C, D
    leaves = [t.clone().requires_grad_() for t in inputs]
    y_par = selective_scan(*leaves)
    grads_par = torch.autograd.grad(y_par.square().sum(), leaves)
    y_seq = selective_scan_reference(*leaves)
    grads_seq = torch.autograd.grad(y_seq.square().sum(), leaves)
    assert y_par.shape == (64, 20, 64)
    torch.testing.assert_close(y_par, y_seq, rtol=0, atol=1e-5)
    assert (y_par - y_seq).abs().max() < 1e-10              # in fact, to rounding
    for g_par, g_seq in zip(grads_par, grads_seq, strict=True):
        torch.testing.assert_close(g_par, g_seq, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(selective_scan(*inputs, method="sequential"), y_seq.detach())
    # The hand-written backward pass against finite differences, on a slice (odd length).
    u, delta, A, B, C, D = inputs
    small = [t.clone().requires_grad_() for t in
             (u[:2, :7, :4], delta[:2, :7, :4], A[:4], B[:2, :7], C[:2, :7], D[:4])]
    assert torch.autograd.gradcheck(selective_scan, small)


def test_mamba_parallel_and_sequential_nets_agree_with_gradients(real_batch):
    x, _ = real_batch
    net = _net(Mamba).double().eval()
    x = x.double()
    results = []
    for method in ("parallel", "sequential"):
        net.zero_grad()
        z = net.features(x, method)
        z[:, -1].square().sum().backward()
        results.append((z.detach(), _body_grads(net)))
    (z_par, g_par), (z_seq, g_seq) = results
    torch.testing.assert_close(z_par, z_seq, rtol=0, atol=1e-5)
    for a, b in zip(g_par, g_seq, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-8)


def test_mamba_initialisation():
    net = _net(Mamba, d_model=16, d_state=8, expand=3, dt_min=0.01, dt_max=0.05)
    mixer = net.mixers[0]
    assert mixer.A_log.shape == (48, 8) and mixer.dt_rank == 1      # ceil(16 / 16)
    torch.testing.assert_close(-torch.exp(mixer.A_log),                # S4D-real
                               -torch.arange(1.0, 9.0).expand(48, 8))
    torch.testing.assert_close(mixer.D, torch.ones(48))
    dt = torch.nn.functional.softplus(mixer.dt_proj.bias)             # Δ at zero input
    assert (dt >= 0.01 - 1e-6).all() and (dt <= 0.05 + 1e-6).all()
    assert dt.std() > 0                                               # drawn, not constant
    assert _net(Mamba, d_model=40).mixers[0].dt_rank == 3
    assert _net(Mamba, dt_rank=5).mixers[0].dt_proj.in_features == 5


# ------------------------------------------------------------------ S4D: the convolution
def test_fft_convolution_equals_the_recurrence(real_batch):
    x, _ = real_batch
    net = _net(S4D).double()
    layer = net.layers[0]
    u = net.embed(x.double())                                          # [64, 20, 32]
    dtA, CB = layer.discretize()
    y_fft = fft_causal_conv(u, s4d_kernel(dtA, CB, 20))
    y_rec = s4d_recurrence(u, dtA, CB)
    torch.testing.assert_close(y_fft, y_rec, rtol=0, atol=1e-5)
    assert (y_fft - y_rec).abs().max() < 1e-10
    # The kernel is the recurrence's response to a unit impulse at the first step.
    impulse = torch.zeros(1, 20, 32, dtype=torch.float64)
    impulse[:, 0] = 1.0
    torch.testing.assert_close(s4d_recurrence(impulse, dtA, CB)[0].T, layer.kernel(20),
                               rtol=0, atol=1e-12)
    # ... and the whole net agrees, values and gradients.
    results = []
    for method in ("fft", "recurrence"):
        net.zero_grad()
        z = net.eval().features(x.double(), method)
        z[:, -1].square().sum().backward()
        results.append((z.detach(), _body_grads(net)))
    torch.testing.assert_close(results[0][0], results[1][0], rtol=0, atol=1e-5)
    for a, b in zip(results[0][1], results[1][1], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("init", ["lin", "inv"])
def test_s4d_initialisation(init):
    n_state = 8
    layer = _net(S4D, d_model=4, d_state=n_state, init=init, dt_min=0.01, dt_max=0.2).layers[0]
    A = torch.complex(-torch.exp(layer.log_A_real), layer.A_imag)     # [H, N/2]
    assert A.shape == (4, 4)
    torch.testing.assert_close(A.real, torch.full((4, 4), -0.5))
    n = torch.arange(4, dtype=torch.float64)
    expected = (math.pi * n if init == "lin"
                else n_state / math.pi * (n_state / (2 * n + 1) - 1))
    torch.testing.assert_close(layer.A_imag, expected.float().expand(4, 4))
    if init == "inv":                                                  # by hand, n = 0..3
        torch.testing.assert_close(layer.A_imag[0], torch.tensor(
            [8 / math.pi * 7, 8 / math.pi * (8 / 3 - 1), 8 / math.pi * (8 / 5 - 1),
             8 / math.pi * (8 / 7 - 1)]))
    dt = layer.log_dt.exp()
    assert (dt >= 0.01 - 1e-6).all() and (dt <= 0.2 + 1e-6).all()
    assert layer.C.shape == (4, 4, 2)                                  # complex C, viewed real


# ------------------------------------------------------------------ both nets
@pytest.mark.parametrize("t", [0, 7, 19])
@pytest.mark.parametrize("cls", NETS)
def test_perturbing_step_t_leaves_earlier_steps_unchanged(cls, t, real_batch):
    x, _ = real_batch
    x = x.double()
    net = _net(cls).double().eval()
    perturbed = x.clone()
    perturbed[:, t:] = x.roll(1, dims=0)[:, t:] + 3.0            # other days' values, shifted
    with torch.no_grad():
        for method in REFERENCE[cls]:
            before, after = net.features(x, method), net.features(perturbed, method)
            torch.testing.assert_close(after[:, :t], before[:, :t], rtol=0, atol=1e-12)
            assert (after[:, t] - before[:, t]).abs().max() > 1e-3   # the change is seen


@pytest.mark.parametrize("cls", NETS)
def test_overfits_one_real_batch(cls, real_batch, overfit):
    x, y = real_batch
    net = _net(cls, horizon=1, dropout=0.0)                      # tomorrow's return
    first, last = overfit(net, (x,), y, steps=200)
    assert last < 0.1 * first, (first, last)


@pytest.mark.parametrize("cls", NETS)
def test_every_own_hyperparameter_has_a_constraint_and_a_doc_entry(cls):
    own = set(inspect.signature(cls).parameters) - CONTRACT
    assert set(cls._parameter_constraints) == own
    for name in own:
        assert f"    {name} : " in cls.__doc__, name


def test_bad_configurations_raise_clear_errors(real_batch):
    with pytest.raises(ValueError, match="0 < dt_min < dt_max"):
        Mamba(2, 20, 1, 1, dt_min=0.1, dt_max=0.01)
    with pytest.raises(ValueError, match="0 < dt_min < dt_max"):
        S4D(2, 20, 1, 1, dt_min=0.5, dt_max=0.5)
    with pytest.raises(ValueError, match="d_state must be even; got d_state=7"):
        S4D(2, 20, 1, 1, d_state=7)
    with pytest.raises(ValueError, match="init='lin' or 'inv'"):
        S4D(2, 20, 1, 1, init="legs")
    x, _ = real_batch
    with pytest.raises(ValueError, match="not one of \\('parallel', 'sequential'\\)"):
        _net(Mamba).features(x, "chunked")
    with pytest.raises(ValueError, match="not one of \\('fft', 'recurrence'\\)"):
        _net(S4D).features(x, "parallel")


@pytest.mark.parametrize("face", ["MambaRegressor", "S4DRegressor"])
def test_state_parameters_are_exempt_from_weight_decay(face, sp500_xy):
    """The papers' optimiser set-up: the state matrices (Mamba's ``A_log`` and ``D``, S4D's
    ``log_dt``, ``log_A_real`` and ``A_imag``) take no weight decay, every other parameter
    the face's ``weight_decay``."""
    from skfin import regressors

    X, y = sp500_xy
    est = getattr(regressors, face)(window=10, d_model=4, d_state=4, num_layers=1,
                                    max_epochs=1, weight_decay=0.5, random_state=0)
    est.fit(X[-300:], y[-300:])
    module = est.net_.module_
    exempt = {f"{prefix}.{name}" if prefix else name
              for prefix, sub in module.named_modules()
              for name in getattr(sub, "no_weight_decay", ())}
    assert exempt, "no state parameter declared"
    decay = {id(p): g["weight_decay"] for g in est.net_.optimizer_.param_groups
             for p in g["params"]}
    for name, param in module.named_parameters():
        assert decay[id(param)] == (0.0 if name in exempt else 0.5), name
