"""Checks every classifier's tests share (ViT, ResNet, BERT)."""

from neural_arch import optim


def assert_overfits_one_batch(model, forward, labels, lr, steps):
    """Adam on one fixed batch must drive the loss below 5% of its start or reach 100% accuracy.

    ``forward()`` runs the model on that batch and returns (logits, loss).
    """
    opt = optim.Adam(model.parameters(), lr=lr)
    first = None
    for _ in range(steps):
        logits, loss = forward()
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    accuracy = (logits.data.argmax(-1) == labels).mean()
    assert loss.item() < 0.05 * first or accuracy == 1.0, (first, loss.item(), accuracy)
