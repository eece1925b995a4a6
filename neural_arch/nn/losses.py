"""Loss modules, as in ``torch.nn``: each holds its options and calls the function in
``neural_arch.functional`` (``loss = nn.CrossEntropyLoss()(logits, targets)``)."""

from neural_arch import functional as F
from neural_arch.nn.module import Module


class CrossEntropyLoss(Module):
    """``F.cross_entropy`` of logits (..., C) against integer targets (...)."""

    def __init__(self, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__()
        self.ignore_index, self.reduction = ignore_index, reduction
        self.label_smoothing = label_smoothing

    def forward(self, logits, targets):
        return F.cross_entropy(logits, targets, ignore_index=self.ignore_index,
                               label_smoothing=self.label_smoothing, reduction=self.reduction)

    def extra_repr(self):
        return f"ignore_index={self.ignore_index}, reduction={self.reduction!r}"


class MSELoss(Module):
    """``F.mse_loss``: the mean (or sum) of squared differences."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, prediction, target):
        return F.mse_loss(prediction, target, reduction=self.reduction)

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class BCEWithLogitsLoss(Module):
    """``F.binary_cross_entropy_with_logits``, computed stably from the logits."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, logits, targets):
        return F.binary_cross_entropy_with_logits(logits, targets, reduction=self.reduction)
