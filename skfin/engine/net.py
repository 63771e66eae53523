"""The one training engine: a skorch ``NeuralNet`` with the defaults a finance user needs.

What it changes in skorch, and why:

* batches are gathered from a :class:`~skfin.engine.data.WindowDataset` one index batch at
  a time (no per-sample collation), with a seeded shuffle;
* fitting runs under a forked, seeded RNG: the same ``seed`` gives bit-identical CPU fits and
  the caller's global RNG state is left untouched;
* optional bf16 autocast on CUDA (``mixed_precision``), outputs returned in float32;
* a module's ``auxiliary_loss(y_true)``, if it has one, is added on training batches;
* per-sample weights carried by the batch (``"sample_weight"``, see
  :class:`~skfin.engine.data.WindowDataset`) reach the criterion on training and
  validation batches alike, and never the net;
* a submodule can exempt its own parameters from weight decay by naming them in a
  ``no_weight_decay`` class attribute (the state matrices of Mamba and S4D, as in their
  reference code); they go to a parameter group of their own with ``weight_decay=0``;
* quiet unless asked: skorch's epoch table only when ``verbose >= 2``;
* optional data augmentation of the training batches (``augment``, see
  :mod:`skfin.engine.augment`), drawn from a CPU generator seeded with the shuffle's;
* optional gradient accumulation over ``accumulate`` batches per optimizer step;
* resumable fits: :class:`~skfin.engine.callbacks.TrainingCheckpoint` restores an
  interrupted fit's state, and the engine then runs only the epochs that are left, from
  the saved shuffling, augmentation and torch RNG states;
* less work per batch than skorch's loop, for the same results: the train/eval mode is
  set when it changes rather than on every batch (a walk over every submodule), and the
  learnable parameters handed to ``on_grad_computed`` are listed once per epoch.

Early stopping, gradient clipping and LR schedules are skorch callbacks, configured by
:meth:`skfin.engine.estimator.NeuralEstimatorMixin._build_engine`.

:class:`AcceleratedSkfinNet` is the same engine trained through Hugging Face Accelerate
(skorch's ``AccelerateMixin``): data-parallel on several GPUs under ``accelerate launch``,
with the steps of one process, and a plain :class:`SkfinNet` once fitted.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
from collections.abc import Mapping

import torch
from skorch import NeuralNet
from skorch.dataset import unpack_data
from skorch.hf import AccelerateMixin
from skorch.utils import TeeGenerator, to_tensor

from skfin.engine.augment import Augmenter
from skfin.engine.data import WindowDataset, batch_loader
from skfin.engine.transfer import freeze_parameters

__all__ = ["SkfinNet", "AcceleratedSkfinNet", "resolve_accelerator"]

#: Mixed into the seed of a fit's shuffling generator to seed its augmentation generator
#: (no extra draw from the torch RNG, so fits without augmentation are unchanged).
_AUGMENT_SALT = 0x5DEECE66D


class SkfinNet(NeuralNet):
    """skorch ``NeuralNet`` over :class:`~skfin.engine.data.WindowDataset` inputs.

    Parameters
    ----------
    module, criterion, **kwargs
        As for :class:`skorch.NeuralNet`.
    seed : int, default=0
        Seeds weight initialisation, dropout and shuffling.
    mixed_precision : bool, default=False
        bf16 autocast for forward passes on CUDA (ignored elsewhere).
    predict_batch_size : int, default=1024
        Batch size for inference and validation.
    augment : str, list, dict or None, default=None
        Augmentation of the training batches (:class:`~skfin.engine.augment.Augmenter`);
        validation and inference batches are never augmented.
    accumulate : int, default=1
        Batches whose gradients are summed before each optimizer step.

    Notes
    -----
    **Auxiliary losses.** The module's ``forward(x)`` returns the contract tensor that the
    criterion scores. A module that wants extra loss terms (auxiliary heads, penalties)
    implements ``auxiliary_loss(y_true) -> Tensor``, computed from what its last
    training-mode ``forward`` kept; :meth:`get_loss` adds it to the criterion on training
    batches (``training=True`` with the module in training mode), and only there. So
    ``train_loss`` includes the auxiliary terms, while ``valid_loss``, which early stopping
    monitors, is the criterion alone and stays comparable across nets.

    **Sample weights.** When a batch's inputs hold ``"sample_weight": [B]``,
    :meth:`infer` drops it before calling the module and :meth:`get_loss` passes it to the
    criterion as ``criterion(y_pred, y_true, sample_weight=w)``, which reduces to the
    weighted mean (see :mod:`skfin.losses`). Training and validation batches go through
    the same :meth:`get_loss`, so ``train_loss`` and ``valid_loss`` are both weighted. An
    ``auxiliary_loss`` that takes a ``sample_weight`` argument receives the weights too.

    **Augmentation.** With ``augment``, :meth:`train_step_single` passes each training
    batch ``(x, y)`` through the :class:`~skfin.engine.augment.Augmenter` before the
    forward pass. Its generator lives on the CPU and is seeded, once per fit, from the
    seed of the shuffling generator (itself drawn from the engine's seeded RNG) mixed with
    a constant: augmented fits repeat bit for bit, and turning augmentation on changes
    neither the shuffle nor the draws of dropout.

    **Gradient accumulation.** With ``accumulate=k``, the batches of an epoch go in
    groups of ``k`` (the last group may be shorter). Each batch's loss is backpropagated
    multiplied by its size (by its total sample weight when the batch carries weights),
    and at the group's last batch the summed gradients are divided by the group's total
    size, clipped (``on_grad_computed``) and stepped. The step is then the one a single
    batch of the whole group would give: batch ``b`` with ``accumulate=k`` trains like
    batch ``k * b``, with the same samples in each step (the shuffled order does not
    depend on the batch size), up to float rounding. Batch losses in the history stay
    per batch; dropout and augmentation draws follow the batches.

    **Frozen weights.** With ``freeze`` (names of the module's parameter groups, see
    :func:`skfin.engine.freeze_parameters`), every module this engine builds has
    those parameters' gradients switched off: training moves only the others.
    """

    def __init__(self, module, criterion, *args, seed: int = 0, mixed_precision: bool = False,
                 predict_batch_size: int = 1024, augment=None, accumulate: int = 1,
                 freeze=None, **kwargs):
        super().__init__(module, criterion, *args, **kwargs)
        self.seed = seed
        self.mixed_precision = mixed_precision
        self.predict_batch_size = predict_batch_size
        self.augment = augment
        self.accumulate = accumulate
        self.freeze = freeze

    def initialize_module(self):
        super().initialize_module()
        if getattr(self, "freeze", None) is not None:   # (engines pickled before freeze)
            freeze_parameters(self.module_, self.freeze)
        return self

    @property
    def _default_callbacks(self):
        callbacks = super()._default_callbacks
        if self.verbose < 2:
            callbacks = [(name, cb) for name, cb in callbacks if name != "print_log"]
        return callbacks

    @contextlib.contextmanager
    def _seeded(self, offset: int = 0):
        devices = [torch.device(self.device).index or 0] if str(self.device).startswith("cuda") else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.seed + offset)
            yield

    def fit(self, X, y=None, **fit_params):
        # A fit from scratch: the only kind a TrainingCheckpoint writes and resumes.
        self._fresh_fit = True
        try:
            with self._seeded():
                return super().fit(X, y, **fit_params)
        finally:
            for name in ("_fresh_fit", "_resumed", "_resume_rngs"):
                self.__dict__.pop(name, None)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        if epochs is None and getattr(self, "_resumed", False):
            # A resumed fit runs the epochs its checkpoint had left.
            epochs = max(0, self.max_epochs - len(self.history))
        return super().fit_loop(X, y, epochs=epochs, **fit_params)

    def training_rng_states(self) -> dict[str, torch.Tensor]:
        """The RNG states that the rest of a running fit draws from (for checkpoints).

        The shuffling and augmentation generators of the fit, the torch CPU RNG (dropout,
        and each later fit loop's generator seeds) and, when training on CUDA, the CUDA RNG
        of the device.
        """
        states = {"torch": torch.get_rng_state()}
        for name, generator in getattr(self, "_train_rngs", {}).items():
            if isinstance(generator, torch.Generator):
                states[name] = generator.get_state()
        if str(self.device).startswith("cuda"):
            states["cuda"] = torch.cuda.get_rng_state(torch.device(self.device).index or 0)
        return states

    def resume_rng_states(self, states: dict[str, torch.Tensor]) -> None:
        """Have the next training iterator continue from :meth:`training_rng_states`."""
        self._resume_rngs = states

    def _get_params_for_optimizer(self, prefix, named_parameters):
        """skorch's parameter groups, with the parameters that a submodule names in its
        ``no_weight_decay`` class attribute moved to groups with ``weight_decay=0``.

        Examples
        --------
        >>> from skfin.nets import Mamba
        >>> net = SkfinNet(Mamba, torch.nn.MSELoss, optimizer=torch.optim.AdamW,
        ...                optimizer__weight_decay=0.01, module__n_features=1,
        ...                module__window=8, module__horizon=1, module__n_targets=1).initialize()
        >>> sorted(g["weight_decay"] for g in net.optimizer_.param_groups)
        [0.0, 0.01]
        """
        named_parameters = list(named_parameters)
        exempt = {id(param) for module in self.module_.modules()
                  for name in getattr(module, "no_weight_decay", ())
                  for param in [getattr(module, name)]}
        args, kwargs = super()._get_params_for_optimizer(prefix, named_parameters)
        if not exempt:
            return args, kwargs
        groups = []
        for group in args[0]:
            for keep in (False, True):
                params = [p for p in group["params"] if (id(p) in exempt) == keep]
                if params:
                    groups.append({**group, "params": params,
                                   **({"weight_decay": 0.0} if keep else {})})
        return (groups, *args[1:]), kwargs

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        # Offset by the epochs already run so that continued training draws fresh batches.
        try:
            with self._seeded(offset=len(self.history) if self.history is not None else 0):
                return super().partial_fit(X, y, classes, **fit_params)
        finally:
            self.__dict__.pop("_train_rngs", None)    # generators do not pickle

    def get_iterator(self, dataset, training=False):
        if training:
            seed = int(torch.randint(2**62, ()).item())
            generator = torch.Generator().manual_seed(seed)
            self._train_rngs = {"shuffle": generator}
            if self.augment is not None:
                self._train_rngs["augment"] = torch.Generator().manual_seed(seed ^ _AUGMENT_SALT)
                self._train_rngs["augmenter"] = Augmenter(self.augment)
            resumed = self.__dict__.pop("_resume_rngs", None)
            if resumed is not None:
                self._restore_rng_states(resumed)
            if isinstance(dataset, WindowDataset):
                return _ShuffledBatches(dataset, self.batch_size, generator)
            return batch_loader(dataset, self.batch_size, shuffle=True, generator=generator)
        # Inference and validation read consecutive slices; a DataLoader would only add
        # per-call set-up cost (it dominated single-window predict latency).
        n, size = len(dataset), self.predict_batch_size
        return [dataset[slice(start, start + size)] for start in range(0, n, size)]

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The criterion, plus the module's ``auxiliary_loss(y_true)`` on training batches.

        Weighted by the batch's ``"sample_weight"`` when ``X`` carries one.
        """
        weight = X.get("sample_weight") if isinstance(X, Mapping) else None
        if weight is None:
            loss = super().get_loss(y_pred, y_true, X=X, training=training)
        else:
            weight = to_tensor(weight, device=self.device)
            loss = self.criterion_(y_pred, to_tensor(y_true, device=self.device),
                                   sample_weight=weight)
        module = self._bare_module()
        auxiliary = getattr(module, "auxiliary_loss", None)
        if training and module.training and auxiliary is not None:
            extra = {} if weight is None or not _takes_sample_weight(auxiliary) else {
                "sample_weight": weight}
            loss = loss + auxiliary(to_tensor(y_true, device=self.device), **extra)
        return loss

    def _restore_rng_states(self, states: dict[str, torch.Tensor]) -> None:
        torch.set_rng_state(states["torch"])
        for name, generator in self._train_rngs.items():
            if isinstance(generator, torch.Generator) and name in states:
                generator.set_state(states[name])
        if "cuda" in states and str(self.device).startswith("cuda"):
            torch.cuda.set_rng_state(states["cuda"], torch.device(self.device).index or 0)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if training and step_fn == self.train_step:
            # The parameters that on_grad_computed hands the callbacks (gradient clipping),
            # listed once per epoch; skorch's train_step lists them on every batch.
            params = list(self.get_all_learnable_params())
            if self.accumulate > 1:
                step_fn = functools.partial(self._accumulate_step, params,
                                            _Accumulation(len(iterator)))
            else:
                step_fn = functools.partial(self._train_step, params)
        return super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)

    def _accumulate_step(self, named_parameters, group, batch, **fit_params):
        """One batch of a group of ``accumulate``: backward, and at the group's end the step."""
        position = group.index % self.accumulate
        if position == 0:
            self._zero_grad_optimizer()
            group.total = 0.0
        self._accumulating = group
        try:
            step = self.train_step_single(batch, **fit_params)
        finally:
            self._accumulating = None
        group.index += 1
        if position == self.accumulate - 1 or group.index == group.n_batches:
            for _, param in named_parameters:
                if param.grad is not None:
                    param.grad.div_(group.total)
            self.notify("on_grad_computed", named_parameters=TeeGenerator(iter(named_parameters)),
                        batch=batch, training=True)
            self._step_optimizer(None)
        return step

    def train_step(self, batch, **fit_params):
        return self._train_step(list(self.get_all_learnable_params()), batch, **fit_params)

    def _train_step(self, named_parameters, batch, **fit_params):
        """skorch's ``train_step``, given the learnable ``(name, parameter)`` pairs."""
        accumulator = self.get_train_step_accumulator()

        def step_fn():
            self._zero_grad_optimizer()
            step = self.train_step_single(batch, **fit_params)
            accumulator.store_step(step)
            self.notify("on_grad_computed", named_parameters=TeeGenerator(iter(named_parameters)),
                        batch=batch, training=True)
            return step["loss"]

        self._step_optimizer(step_fn)
        return accumulator.get_step()

    def train_step_single(self, batch, **fit_params):
        # skorch's version re-walks every submodule (and the criterion) to set training mode
        # on each batch; here the mode is set when it changes, i.e. once per epoch, after
        # the previous epoch's validation (or anything else) switched it to evaluation.
        if not self.module_.training:
            self._set_training(True)
        x, y = self._augmented(*unpack_data(batch))
        y_pred = self.infer(x, **fit_params)
        loss = self.get_loss(y_pred, y, X=x, training=True)
        group = getattr(self, "_accumulating", None)
        if group is None:
            loss.backward()
        else:
            # Summed, not averaged, over the group: divided by its total at the step.
            weight = x.get("sample_weight") if isinstance(x, Mapping) else None
            size = float(len(y)) if weight is None else float(weight.sum())
            group.total += size
            (loss * size).backward()
        return {"loss": loss, "y_pred": y_pred}

    def _augmented(self, x, y):
        """A training batch ``(x, y)`` through the ``augment`` augmenter (if any)."""
        if self.augment is None:
            return x, y
        rngs = getattr(self, "_train_rngs", None) or {}
        augmenter = rngs.get("augmenter") or Augmenter(self.augment)
        generator = rngs.get("augment")
        if generator is None:
            generator = torch.Generator().manual_seed(int(torch.randint(2**62, ())))
        return augmenter(x, to_tensor(y, device=self.device), generator)

    def _bare_module(self) -> torch.nn.Module:
        """The net itself (what :meth:`get_loss` asks for an ``auxiliary_loss``)."""
        return self.module_

    def evaluation_step(self, batch, training=False):
        # skorch's version re-walks every submodule to set train/eval mode on each batch.
        x, _ = batch
        with torch.set_grad_enabled(training):
            if self.module_.training != training:
                self._set_training(training)
            return self.infer(x)

    def infer(self, x, **fit_params):
        if isinstance(x, Mapping) and "sample_weight" in x:                   # for the loss only
            x = {k: v for k, v in x.items() if k != "sample_weight"}
            x = x["x"] if list(x) == ["x"] else x
        if self.mixed_precision and str(self.device).startswith("cuda"):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                out = super().infer(x, **fit_params)
            return out.float()
        return super().infer(x, **fit_params)


class AcceleratedSkfinNet(AccelerateMixin, SkfinNet):
    """:class:`SkfinNet` trained through Hugging Face Accelerate (skorch's ``AccelerateMixin``).

    Run under ``accelerate launch`` (or ``torchrun``), every process holds the whole
    dataset and draws the same shuffled batches (same seed); each optimizer step splits
    its batch of ``batch_size`` into one contiguous share per process, and the gradients,
    averaged across processes by DistributedDataParallel, are those of the whole batch:
    each share's loss is scaled by its share of the batch (of its total sample weight
    when weighted) times the number of processes. So the step is the one a single
    process takes on the whole batch, up to float rounding, and ``batch_size`` stays the
    global batch. Augmentation is applied to the whole batch before it is split (mixup
    pairs and draws are those of one process); dropout draws differ by share.

    What changes against :class:`SkfinNet`:

    * placement is the accelerator's (``device=None``); batches go to
      ``accelerator.device``, and the RNG forked and seeded for a fit is that device's;
    * the backward pass is ``accelerator.backward``, forward passes run under
      ``accelerator.autocast()`` (the accelerator's mixed precision, not
      ``mixed_precision``);
    * the batch losses in the history are those of the whole batch (reduced across
      processes), so early stopping and divergence checks agree on every process;
    * validation is not split: every process scores the whole validation tail (no
      gather), so ``valid_loss`` is the same everywhere;
    * LR schedules are skorch's per-epoch callbacks, left unprepared (Accelerate's
      scheduler wrapper would step once per process per epoch);
    * at the end of training the engine becomes a plain :class:`SkfinNet` on the
      accelerator's device (module unwrapped, optimizer unwrapped, no accelerator kept):
      the fitted state does not depend on the launcher, pickles, and predicts without it.

    Gradient accumulation (``accumulate`` > 1, or an accelerator with
    ``gradient_accumulation_steps`` > 1) is refused: see :func:`resolve_accelerator`.
    """

    def __init__(self, module, criterion, *args, accelerator, **kwargs):
        super().__init__(module, criterion, *args, accelerator=accelerator, **kwargs)

    @contextlib.contextmanager
    def _seeded(self, offset: int = 0):
        # SkfinNet's, with the RNG of the accelerator's device (not of ``device``, None).
        device = self.accelerator.device
        with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
            torch.manual_seed(self.seed + offset)
            yield

    def _initialize_accelerator(self):
        # AccelerateMixin's, without preparing the LR schedulers (see the class notes).
        if self._wrapped_with_accelerator:
            return self
        for kind, names in (("criterion", self._criteria), ("module", self._modules),
                            ("optimizer", self._optimizers)):
            with self._current_init_context(kind):
                for name in names:
                    part = getattr(self, name + "_")
                    if kind == "criterion" and isinstance(part, torch.nn.Module) and not any(
                            p.requires_grad for p in part.parameters()):
                        part.to(self.accelerator.device)      # nothing for DDP to reduce
                    elif isinstance(part, (torch.nn.Module, torch.optim.Optimizer)):
                        setattr(self, name + "_", self.accelerator.prepare(part))
        self._wrapped_with_accelerator = True
        return self

    def _bare_module(self) -> torch.nn.Module:
        return self.accelerator.unwrap_model(self.module_)

    def get_iterator(self, dataset, training=False):
        # SkfinNet's batches; the shares are cut in train_step_single (not a DataLoader
        # for the accelerator to shard).
        return SkfinNet.get_iterator(self, dataset, training=training)

    def _train_step(self, named_parameters, batch, **fit_params):
        with self.accelerator.accumulate(self.module_):
            return super()._train_step(named_parameters, batch, **fit_params)

    def train_step_single(self, batch, **fit_params):
        from accelerate.utils import send_to_device

        if not self.module_.training:
            self._set_training(True)
        x, y = self._augmented(*unpack_data(batch))
        share, x, y = self._share(x, to_tensor(y, device=None))
        x, y = send_to_device((x, y), self.accelerator.device)
        with self.accelerator.autocast():
            y_pred = self.infer(x, **fit_params)
            loss = self.get_loss(y_pred, y, X=x, training=True)
        processes = self.accelerator.num_processes
        if processes == 1:
            self.accelerator.backward(loss)
            return {"loss": loss, "y_pred": y_pred}
        # DDP averages the processes' gradients: scaled so, they sum the whole batch's.
        self.accelerator.backward(loss * (share * processes))
        whole = self.accelerator.reduce(loss.detach().float() * share, reduction="sum")
        return {"loss": whole, "y_pred": y_pred}

    def _share(self, x, y):
        """This process's contiguous part of a batch, and its share of the batch's weight.

        A process left without a sample (a batch shorter than the number of processes)
        runs the batch's first sample with share 0, so that every process takes part in
        the gradient synchronisation.
        """
        processes = self.accelerator.num_processes
        if processes == 1:
            return 1.0, x, y
        n = len(y)
        bounds = torch.arange(processes + 1) * n // processes
        rank = self.accelerator.process_index
        lo, hi = int(bounds[rank]), int(bounds[rank + 1])
        weight = x.get("sample_weight") if isinstance(x, Mapping) else None
        if weight is not None and float(weight.sum()) > 0:
            share = float(weight[lo:hi].sum()) / float(weight.sum())
        else:
            share = (hi - lo) / n
        if hi == lo:
            lo, hi, share = 0, 1, 0.0
        part = (lambda v: {k: part(u) for k, u in v.items()} if isinstance(v, Mapping)
                else v[lo:hi])
        return share, part(x), part(y)

    def validation_step(self, batch, **fit_params):
        from accelerate.utils import send_to_device

        return super().validation_step(send_to_device(batch, self.accelerator.device),
                                       **fit_params)

    def evaluation_step(self, batch, training=False):
        # SkfinNet's: every process scores whole batches, so there is nothing to gather.
        from accelerate.utils import send_to_device

        return SkfinNet.evaluation_step(self, send_to_device(batch, self.accelerator.device),
                                        training=training)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        wrapped = self.module_
        if self._bare_module() is not wrapped:
            # The best weights early stopping kept are keyed like the wrapped module
            # ("module." + name); it restores them after the unwrapping below.
            for _, callback in self.callbacks_:
                best = getattr(callback, "best_model_weights_", None)
                if isinstance(best, Mapping):
                    callback.best_model_weights_ = {
                        k.removeprefix("module."): v for k, v in best.items()}
        super().on_train_end(net, X=X, y=y, **kwargs)
        if self.unwrap_after_train:
            self._plain()
        return self

    def _bare_module_of(self, part):
        if isinstance(part, torch.nn.Module):
            return self.accelerator.unwrap_model(part)
        return part

    def _plain(self) -> None:
        """Become the plain :class:`SkfinNet` that the same fit without Accelerate gives."""
        device = str(next(iter(self.module_.parameters()), torch.empty(0)).device)
        wrapped = self.optimizer_
        self.optimizer_ = optimizer = getattr(wrapped, "optimizer", wrapped)
        for _, callback in self.callbacks_:               # LR schedules built on the wrapper
            schedule = getattr(callback, "lr_scheduler_", None)
            if getattr(schedule, "optimizer", None) is wrapped:
                schedule.optimizer = optimizer
        # The accelerator lets go of what it prepared for this fit (it stays the
        # estimator's parameter, and would otherwise carry them into pickles and clones).
        ours = {id(wrapped)} | {id(getattr(self, name + "_", None))
                                for name in self._modules + self._criteria}
        for name in ("_models", "_optimizers"):
            kept = getattr(self.accelerator, name, None)
            if isinstance(kept, list):
                kept[:] = [part for part in kept if id(part) not in ours
                           and id(self._bare_module_of(part)) not in ours]
        for name in ("accelerator", "unwrap_after_train", "_wrapped_with_accelerator"):
            self.__dict__.pop(name, None)
        if callable(self.__dict__.get("callbacks__print_log__sink")):
            self.callbacks__print_log__sink = print
            for _, callback in self.callbacks_:
                if getattr(callback, "sink", None) is not None and callback.sink is not print:
                    callback.sink = print
        self.device = device
        self.__class__ = SkfinNet


def resolve_accelerator(accelerator):
    """The ``accelerate.Accelerator`` an estimator's ``accelerator`` parameter asks for.

    None stays None; "auto" creates ``Accelerator()``, which reads its settings (number of
    processes, mixed precision) from ``accelerate launch`` or ``accelerate config``; an
    ``Accelerator`` instance is used as is. An accelerator with
    ``gradient_accumulation_steps`` > 1 is refused: skfin's batches are not a DataLoader
    that the accelerator could count, so it could not tell where an epoch's last group
    ends.
    """
    if accelerator is None:
        return None
    if isinstance(accelerator, str):
        try:
            from accelerate import Accelerator
        except ImportError:        # pragma: no cover - accelerate is in the test extra
            raise ImportError("accelerator='auto' needs Hugging Face Accelerate: "
                              "pip install 'skfin[accelerate]'.") from None
        accelerator = Accelerator()
    steps = getattr(accelerator, "gradient_accumulation_steps", 1)
    if steps != 1:
        raise ValueError(
            f"The accelerator accumulates gradients over {steps} steps, which skfin's "
            "engine does not support through Accelerate. Create it without "
            "gradient_accumulation_steps and use a larger batch_size (with several "
            "processes, batch_size is the global batch, split between them)."
        )
    return accelerator

def _takes_sample_weight(function) -> bool:
    try:
        return "sample_weight" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


class _Accumulation:
    """Where an epoch's gradient accumulation stands: batches seen, and the size summed
    over the current group."""

    def __init__(self, n_batches: int):
        self.n_batches = n_batches
        self.index = 0
        self.total = 0.0


class _ShuffledBatches:
    """The training batches of ``batch_loader(dataset, batch_size, shuffle=True, generator)``.

    The same batches in the same order, each gathered with one tensor index instead of the
    DataLoader's per-sample index lists: the generator is drawn from as the DataLoader and
    its ``RandomSampler`` draw on each pass (a base seed, the permutation, then a second
    permutation for the sampler's empty remainder), so fits stay bit-identical.
    """

    def __init__(self, dataset: WindowDataset, batch_size: int, generator: torch.Generator):
        self.dataset = dataset
        self.batch_size = batch_size
        self.generator = generator

    def __len__(self) -> int:
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self):
        torch.empty((), dtype=torch.int64).random_(generator=self.generator)   # base seed
        n = len(self.dataset)
        for batch in torch.randperm(n, generator=self.generator).split(self.batch_size):
            yield self.dataset[batch]
        torch.randperm(n, generator=self.generator)                              # remainder
