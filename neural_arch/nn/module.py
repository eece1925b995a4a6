"""Module and Parameter: the PyTorch-shaped container that layers and models are built from.

Assigning a ``Parameter`` or a ``Module`` to an attribute registers it, in assignment order, so
``named_parameters()`` is deterministic and gives dotted names (``blocks.0.attn.qkv.weight``)
that match PyTorch and Hugging Face checkpoints. Buffers are non-trainable arrays (BatchNorm's
running statistics, RoPE tables) that ``state_dict`` saves too.
"""

from collections import OrderedDict

import numpy as np

from neural_arch.core.tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable (``requires_grad=True`` by default)."""

    def __init__(self, data, requires_grad=True, dtype=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() "
                                 f"before assigning attributes")
        for registry in (self._parameters, self._modules, self._buffers):
            registry.pop(name, None)
        if isinstance(value, (Parameter, Module)):
            # A plain attribute of the same name (e.g. ``self.downsample = None`` set earlier)
            # would otherwise shadow the registered one, since __getattr__ only runs on misses.
            self.__dict__.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # Only called when normal lookup fails: look in the registries.
        for registry in ("_parameters", "_modules", "_buffers"):
            table = self.__dict__.get(registry)
            if table is not None and name in table:
                return table[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __delattr__(self, name):
        for registry in (self._parameters, self._modules, self._buffers):
            if name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name, array):
        """A non-trainable array saved in the state dict (None is allowed and not saved). A
        Tensor (``torch.tril(torch.ones(T, T))`` in PyTorch code) is stored as its array."""
        array = array.data if isinstance(array, Tensor) else array
        self._buffers[name] = None if array is None else np.asarray(array)

    # ----- calling -----------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ----- traversal ---------------------------------------------------------------------------
    def named_modules(self, prefix=""):
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def children(self):
        yield from self._modules.values()

    def apply(self, fn):
        """Call ``fn(module)`` on every submodule, children first, then on self (as PyTorch:
        ``model.apply(model._init_weights)``); returns self."""
        for child in self._modules.values():
            child.apply(fn)
        fn(self)
        return self

    def named_parameters(self, prefix="", remove_duplicate=True):
        """(dotted name, Parameter) pairs; a parameter shared by two modules (tied weights)
        appears once, unless ``remove_duplicate=False`` (as ``state_dict`` lists it)."""
        seen = set()
        for module_name, module in self.named_modules(prefix):
            for name, p in module._parameters.items():
                if id(p) in seen and remove_duplicate:
                    continue
                seen.add(id(p))
                yield (f"{module_name}.{name}" if module_name else name), p

    def parameters(self):
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self):
        for module_name, module in self.named_modules():
            for name, b in module._buffers.items():
                if b is not None:
                    yield (f"{module_name}.{name}" if module_name else name), b

    def num_parameters(self, trainable_only=False):
        """Total number of elements over unique parameters."""
        return int(sum(p.numel() for p in self.parameters()
                       if p.requires_grad or not trainable_only))

    # ----- modes -------------------------------------------------------------------------------
    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad[...] = 0

    def to(self, dtype):
        """Convert every floating parameter and buffer to ``dtype`` in place (e.g. float64 for
        gradient checks); returns self. PyTorch's ``to("cpu")`` changes nothing (there are no
        other devices)."""
        if isinstance(dtype, str) and not dtype.startswith("float"):
            if dtype.split(":")[0] != "cpu":
                raise ValueError(f"to: neural_arch runs on the CPU only; got device {dtype!r}")
            return self
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = None
        for m in self.modules():
            for name, b in m._buffers.items():
                if b is not None and b.dtype.kind == "f":
                    m._buffers[name] = b.astype(dtype)
        return self

    def double(self):
        return self.to(np.float64)

    def float(self):
        return self.to(np.float32)

    # ----- state -------------------------------------------------------------------------------
    def state_dict(self):
        """OrderedDict of dotted name -> ndarray (parameters, then buffers). Arrays are copies."""
        state = OrderedDict()
        for name, p in self.named_parameters():
            state[name] = p.data.copy()
        for name, b in self.named_buffers():
            state[name] = np.array(b, copy=True)
        return state

    def _state_slots(self):
        slots = OrderedDict()
        for name, p in self.named_parameters():
            slots[name] = ("param", p, None)
        for module_name, module in self.named_modules():
            for name, b in module._buffers.items():
                if b is not None:
                    full = f"{module_name}.{name}" if module_name else name
                    slots[full] = ("buffer", module, name)
        return slots

    def load_state_dict(self, state, strict=True):
        """Copy arrays from ``state`` into this module's parameters and buffers.

        Each value is converted to the dtype of the slot it fills (float64 into a float32
        parameter is fine, as in PyTorch) but must keep its kind (NumPy's ``same_kind``: no
        floats into an integer buffer, no strings). Raises one ValueError listing every
        missing and unexpected key (only when ``strict``) and every shape and dtype mismatch;
        nothing is changed if any check fails. Returns (missing_keys, unexpected_keys).
        """
        slots = self._state_slots()
        missing = [k for k in slots if k not in state]
        # The other names of a tied parameter (PyTorch saves ``lm_head.weight`` beside
        # ``transformer.wte.weight``) are accepted and skipped: the first name loads it.
        aliases = {name for name, _ in self.named_parameters(remove_duplicate=False)}
        unexpected = [k for k in state if k not in slots and k not in aliases]
        values, shapes, dtypes = {}, [], []
        for key, (kind, obj, name) in slots.items():
            if key not in state:
                continue
            value = state[key]
            value = values[key] = np.asarray(value.data if isinstance(value, Tensor) else value)
            current = obj.data if kind == "param" else obj._buffers[name]
            if value.shape != current.shape:
                shapes.append(f"{key}: checkpoint {value.shape} vs model {current.shape}")
            if not np.can_cast(value.dtype, current.dtype, casting="same_kind"):
                dtypes.append(f"{key}: checkpoint {value.dtype} vs model {current.dtype}")
        problems = []
        if strict and missing:
            problems.append(f"missing keys: {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {unexpected}")
        if shapes:
            problems.append(f"shape mismatches: {shapes}")
        if dtypes:
            problems.append(f"dtype mismatches: {dtypes}")
        if problems:
            raise ValueError(f"load_state_dict for {type(self).__name__} failed: "
                             + "; ".join(problems))
        for key, (kind, obj, name) in slots.items():
            if key not in values:
                continue
            value = values[key]
            if kind == "param":
                obj.data = value.astype(obj.data.dtype, copy=True)
            else:
                obj._buffers[name] = value.astype(obj._buffers[name].dtype, copy=True)
        return missing, unexpected

    # ----- printing ----------------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        children = list(self._modules.items())
        if not children:
            return lines[0] + ")"
        for name, child in children:
            child_text = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_text}")
        return "\n".join(lines) + "\n)"
