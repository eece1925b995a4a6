"""ModelServer: a trained checkpoint answering requests.

The checkpoint's JSON names the model and its config; the weights come from the safetensors
file beside it. The task is rebuilt from the saved config, which gives back the dataset and its
tokenizer (and, for CLIP, the class captions and the images to retrieve from).

    server = ModelServer("checkpoints/gpt2/gpt2_epoch_3.json")
    server.predict("ROMEO:")             # GPT-2 / modern: a continuation of the prompt
    server.predict("not bad at all")     # BERT / MiniLM: {"label", "probability"}
    server.predict(image)                # ViT / ResNet / CLIP: {"class", "probability", "top5"}
    server.predict("a picture of a 3")   # CLIP: the val image most like the caption
"""

import numpy as np

from neural_arch.core.grad_mode import no_grad
from neural_arch.core.tensor import Tensor
from neural_arch.models import task_name
from neural_arch.ops.reduce import softmax_array
from neural_arch.training.checkpoint import load_checkpoint
from neural_arch.training.resume import restore_model_from_checkpoint
from neural_arch.training.tasks import make_task


class ModelServer:
    def __init__(self, checkpoint_path):
        self.checkpoint = load_checkpoint(checkpoint_path)
        self.model, self.config = restore_model_from_checkpoint(checkpoint_path)
        self.model.eval()
        self.name = self.checkpoint["model"]
        self.task = make_task(self.name, {**self.config, "model": self.name})
        self.family = task_name(self.name)  # the registry's: language, vision, sentiment, ...

    # ----- per family --------------------------------------------------------------------------
    def _continue(self, prompt, max_new_tokens=40, temperature=0.8, top_k=40, seed=0):
        with no_grad():
            return self.task.continue_text(self.model, prompt, max_new_tokens=max_new_tokens,
                                           temperature=temperature, top_k=top_k, seed=seed)

    def _sentiment(self, texts):
        ids, mask = self.task.encode(texts)
        width = int(mask.sum(axis=1).max())
        with no_grad():
            logits, _ = self.model(ids[:, :width], attention_mask=mask[:, :width])
        probs = softmax_array(logits.data.astype(np.float64), axis=-1)
        names = self.task.data.class_names
        return [{"label": names[int(p.argmax())], "probability": float(p.max())} for p in probs]

    def _classify(self, images):
        """Class probabilities: the classifier's, or CLIP's zero-shot over class captions."""
        images = np.asarray(images, dtype=np.float32)
        with no_grad():
            if self.family == "contrastive":
                image_emb = self.task.embed_images(self.model, images)          # (N, E)
                logits = self.model.temperature() * image_emb @ self.task.class_embeddings(
                    self.model).T                                               # (N, 10)
            else:
                logits = self.model(Tensor(images))[0].data
        probs = softmax_array(logits.astype(np.float64), axis=-1)
        names = self.task.data.class_names
        results = []
        for p in probs:
            top = np.argsort(-p)[:5]
            results.append({"class": names[int(top[0])], "class_index": int(top[0]),
                            "probability": float(p[top[0]]),
                            "top5": [[names[int(i)], float(p[i])] for i in top]})
        return results

    def _find_image(self, caption, split="val"):
        """CLIP: the image of ``split`` most similar to ``caption``."""
        tokens, eot = self.task.encode_query(caption)
        images, labels = self.task.split_arrays(split)
        image_emb = self.task.embed_images(self.model, images)
        with no_grad():
            query = self.model.encode_text(tokens, eot).data[0]
        scores = image_emb @ query
        best = int(np.argmax(scores))
        return {"image_index": best, "split": split,
                "class_of_image": self.task.data.class_names[int(labels[best])],
                "score": float(scores[best])}

    # ----- public ------------------------------------------------------------------------------
    def predict(self, input_data, **options):
        """Run the model on one input (or a list of texts / a batch of images)."""
        if self.family == "language":
            if isinstance(input_data, str):
                return self._continue(input_data, **options)
            return [self._continue(p, **options) for p in input_data]
        if self.family == "sentiment":
            single = isinstance(input_data, str)
            out = self._sentiment([input_data] if single else list(input_data))
            return out[0] if single else out
        if self.family == "contrastive" and isinstance(input_data, str):
            return self._find_image(input_data)
        images = np.asarray(input_data, dtype=np.float32)
        single = images.ndim == 3
        out = self._classify(images[None] if single else images)
        return out[0] if single else out

    def predict_split_item(self, index, split="val"):
        """Predict for item ``index`` of a dataset split (an image for vision and CLIP models,
        a review for BERT), with its true label or caption for comparison."""
        data = self.task.data
        if split not in self.task.splits:
            raise ValueError(f"split = {split!r}; expected one of {self.task.splits}")
        if self.family in ("vision", "contrastive"):
            images, labels = self.task.split_arrays(split)
            if not -len(images) <= index < len(images):
                raise ValueError(f"image index {index} is out of range for the {split} split "
                                 f"({len(images)} images)")
            result = self.predict(images[index])
            result["true_class"] = data.class_names[int(labels[index])]
            return result
        if self.family == "sentiment":
            texts = getattr(data, f"{split}_texts")
            if not -len(texts) <= index < len(texts):
                raise ValueError(f"index {index} is out of range for the {split} split "
                                 f"({len(texts)} sentences)")
            result = self.predict(texts[index])
            result["true_label"] = data.class_names[int(getattr(data, f"{split}_labels")[index])]
            return result
        raise ValueError(f"predict_split_item: not defined for {self.name}; use predict(prompt)")

    def get_model_info(self):
        """The documented summary: architecture (config), performance (metrics), training."""
        return {"architecture": self.checkpoint["config"],
                "performance": self.checkpoint["metrics"],
                "training_info": {"epochs": self.checkpoint["epoch"] + 1,
                                  "steps": self.checkpoint["step"]}}
