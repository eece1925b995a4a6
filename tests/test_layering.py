"""Imports only point down the layers (DESIGN.md): a kernel knows no Tensor, the engine knows no
layer, a layer no model, a model no trainer or dataset, the trainer no command line.

Every ``import`` and ``from ... import`` in the package is read with ``ast`` (lazy imports inside
functions included) and checked against LAYERS. The one deliberate exception is the pair
Tensor <-> ops: ``Tensor.__add__`` and friends call the ops, which build Tensors.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "neural_arch"

# Bottom to top. A module may import its own layer and any layer below it.
LAYERS = [
    {"kernels", "tokenizers", "blas_choice"},  # arrays in, arrays out; text in, ids out;
                                                # which BLAS kernels (before NumPy loads)
    {"core"},                                   # Tensor, Function, engine, grad mode, hooks
    {"ops"},                                    # one Function per differentiable primitive
    {"functional", "testing"},                  # stateless layers and losses; gradcheck
    {"nn", "optim"},                            # Modules and optimizers
    {"models"},                                 # the model zoo and its registry
    {"data", "distributed"},                    # real datasets, baselines; MPI collectives
    {"training"},                               # trainer, tasks, checkpoints
    {"cli", "serving", "analysis", "profiler", "__main__", "__init__", "torch_api"},
]
LAYER_OF = {name: level for level, names in enumerate(LAYERS) for name in names}
EXCEPTIONS = {("core", "ops")}  # Tensor's operators call the ops (see the module docstring)


def part_of(module):
    """'neural_arch.nn.basic' -> 'nn'; 'neural_arch' -> '__init__'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imported_modules(source, module):
    """Every neural_arch module that ``source`` (the text of ``module``) imports."""
    package = module.rsplit(".", 1)[0] if not module.endswith("__init__") else module
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x / from .x import y
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if "." in target:  # "from neural_arch import nn" names its layer through the alias
                found.append(target)
            found += [f"{target}.{alias.name}" for alias in node.names]
    return [name for name in found if name.split(".")[0] == "neural_arch"]


def upward_imports(source, module):
    """(importer part, imported part) for each import of ``module`` that points up."""
    here = part_of(module)
    bad = []
    for target in imported_modules(source, module):
        there = part_of(target)
        if there not in LAYER_OF:  # an attribute (from neural_arch import nn): its own name
            continue
        if LAYER_OF[there] > LAYER_OF[here] and (here, there) not in EXCEPTIONS:
            bad.append((module, target))
    return bad


def package_modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        yield ".".join(relative.parts), path


def test_every_part_of_the_package_has_a_layer():
    parts = {part_of(module) for module, _ in package_modules()}
    assert parts <= set(LAYER_OF), parts - set(LAYER_OF)


def test_imports_only_point_down():
    bad = []
    for module, path in package_modules():
        bad += upward_imports(path.read_text(encoding="utf-8"), module)
    assert not bad, "\n".join(f"{a} imports {b}" for a, b in bad)


@pytest.mark.parametrize("module, source", [
    ("neural_arch.nn.basic", "from neural_arch.training import ModelTrainer"),
    ("neural_arch.core.function", "def f():\n    from neural_arch import nn\n"),
    ("neural_arch.kernels.matmul", "import neural_arch.core.tensor"),
    ("neural_arch.models.language.bert", "from neural_arch.data.shakespeare import x"),
    ("neural_arch.training.trainer", "from neural_arch import cli"),
    ("neural_arch.ops.elementwise", "from ..nn import Module"),
])
def test_an_upward_import_is_caught(module, source):
    assert upward_imports(source, module)


def test_downward_imports_and_the_tensor_ops_pair_pass():
    assert not upward_imports("from neural_arch.ops import add", "neural_arch.core.tensor")
    assert not upward_imports("from neural_arch.core import Tensor", "neural_arch.nn.basic")
    assert not upward_imports("from . import init", "neural_arch.nn.basic")
