"""The two sides of a case: the same model, batch and step in neural_arch and in PyTorch.

Each side is built inside its own worker process (see ``worker.py``) and offers the same four
methods:

    save_weights(dir)   write every parameter as <dir>/<name>.npy (neural_arch side only)
    load_weights(dir)   read them back into this side's model (PyTorch side only)
    check(dir)          step 0 without the optimizer update: write loss / grads / logits as .npy
    step()              one timed step: train = zero_grad, forward, backward, AdamW;
                        infer = forward without autograd

Arrays go through files rather than the pipe so that pickling a copy of every gradient does not
show up in the worker's peak RSS. Both sides use AdamW(lr 1e-3, weight decay 0.1); PyTorch's
``fused=True`` CPU kernel is its fastest eager optimizer, the fair peer of our fused Numba step.
"""

import os

import numpy as np

from benchmarks.cases import make_inputs

LR, WEIGHT_DECAY = 1e-3, 0.1


def _save(directory, arrays):
    os.makedirs(directory, exist_ok=True)
    for name, array in arrays.items():
        np.save(os.path.join(directory, name + ".npy"), array)


def load_arrays(directory):
    """{name: array} from a directory of .npy files."""
    return {f[:-4]: np.load(os.path.join(directory, f)) for f in sorted(os.listdir(directory))
            if f.endswith(".npy")}


def run_model(model, kind, x, with_targets):
    """One forward of either side's model on the case inputs ``x`` -> (logits, loss or None);
    both sides' models take the same arguments."""
    if kind == "gpt2":
        return model(x["idx"], x["targets"] if with_targets else None)
    if kind == "vit":
        return model(x["images"], x["targets"] if with_targets else None)
    return model(x["input_ids"], x["attention_mask"], labels=x["labels"] if with_targets else None)


class NeuralArchSide:
    def __init__(self, case):
        from neural_arch import optim
        from neural_arch.core import no_grad
        self.case, self.no_grad = case, no_grad
        self.model = self._build(case)
        self.inputs = make_inputs(case)
        self.opt = None
        if case.mode == "train":
            self.opt = optim.AdamW(self.model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
        else:
            self.model.eval()

    @staticmethod
    def _build(case):
        if case.model == "gpt2":
            from neural_arch.models.language.gpt2 import GPT2Config, GPT2LMHead
            return GPT2LMHead(GPT2Config(**case.config))
        if case.model == "vit":
            from neural_arch.models.vision.vision_transformer import VisionTransformer
            return VisionTransformer(**case.config)
        from neural_arch.models.language.bert import BERTConfig
        from neural_arch.models.language.bert_classifier import BertForSequenceClassification
        return BertForSequenceClassification(BERTConfig(**case.config))

    def _forward(self, with_targets):
        return run_model(self.model, self.case.model, self.inputs, with_targets)

    def save_weights(self, directory):
        _save(directory, {n: p.data for n, p in self.model.named_parameters()})

    def check(self, directory):
        if self.case.mode == "infer":
            with self.no_grad():
                logits, _ = self._forward(False)
            _save(directory, {"logits": logits.data})
            return
        _, loss = self._forward(True)
        loss.backward()
        grads = {"grad." + n: p.grad for n, p in self.model.named_parameters()}
        _save(directory, dict(grads, loss=np.asarray(loss.item())))
        self.opt.zero_grad()

    def step(self):
        if self.case.mode == "infer":
            with self.no_grad():
                self._forward(False)
            return
        self.opt.zero_grad()
        _, loss = self._forward(True)
        loss.backward()
        self.opt.step()


class TorchSide:
    def __init__(self, case):
        import torch
        from benchmarks import torch_models
        self.case, self.torch = case, torch
        c = case.config
        if case.model == "gpt2":
            from neural_arch.models.language.gpt2 import GPT2Config
            self.model = torch_models.GPT2(GPT2Config(**c))
        elif case.model == "vit":
            from neural_arch.models.vision.vision_transformer import ViTConfig
            self.model = torch_models.ViT(ViTConfig(**c))
        else:
            from neural_arch.models.language.bert import BERTConfig
            self.model = torch_models.BertClassifier(BERTConfig(**c))
        self.inputs = {k: torch.from_numpy(v) for k, v in make_inputs(case).items()}
        self.opt = None
        if case.mode == "train":
            self.opt = torch.optim.AdamW(self.model.parameters(), lr=LR,
                                         weight_decay=WEIGHT_DECAY, fused=True)
        else:
            self.model.eval()

    def _forward(self, with_targets):
        return run_model(self.model, self.case.model, self.inputs, with_targets)

    def load_weights(self, directory):
        from benchmarks import torch_models
        torch_models.load_from_numpy(self.model, load_arrays(directory))

    def check(self, directory):
        if self.case.mode == "infer":
            with self.torch.inference_mode():
                logits, _ = self._forward(False)
            _save(directory, {"logits": logits.numpy()})
            return
        _, loss = self._forward(True)
        loss.backward()
        grads = {"grad." + n: p.grad.numpy() for n, p in self.model.named_parameters()}
        _save(directory, dict(grads, loss=np.asarray(loss.item())))
        self.opt.zero_grad(set_to_none=True)

    def step(self):
        if self.case.mode == "infer":
            with self.torch.inference_mode():
                self._forward(False)
            return
        self.opt.zero_grad(set_to_none=True)
        _, loss = self._forward(True)
        loss.backward()
        self.opt.step()
