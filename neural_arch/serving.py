"""ModelServer: a trained checkpoint answering requests.

The checkpoint's JSON names the model and its config; the weights come from the safetensors
file beside it. The task's data generator is rebuilt from the saved seed, which gives back the
tokenizers (and, for CLIP, the candidate captions and images to retrieve from).

    server = ModelServer("checkpoints/gpt2/gpt2_epoch_3.json")
    server.predict("tom was")            # GPT-2 / modern: a continuation of the prompt
    server.predict("not bad at all")     # BERT: {"label", "probability"}
    server.predict(image)                # ViT / ResNet: {"class", "probability", "top5"}
"""

import numpy as np

from neural_arch.core.grad_mode import no_grad
from neural_arch.data.image_text import encode_captions
from neural_arch.core.tensor import Tensor
from neural_arch.ops.reduce import softmax_array
from neural_arch.training.checkpoint import load_checkpoint
from neural_arch.training.resume import restore_model_from_checkpoint
from neural_arch.training.tasks import make_task

_FAMILY = {"gpt2": "language", "modern_transformer": "language", "bert": "sentiment",
           "vit": "vision", "resnet": "vision", "clip": "clip"}


class ModelServer:
    def __init__(self, checkpoint_path):
        self.checkpoint = load_checkpoint(checkpoint_path)
        self.model, self.config = restore_model_from_checkpoint(checkpoint_path)
        self.model.eval()
        self.name = self.checkpoint["model"]
        self.family = _FAMILY[self.name]
        task_config = {**self.config, "model": self.name}
        self.task = make_task(self.name, task_config)

    # ----- per family --------------------------------------------------------------------------
    def _continue(self, prompt, max_new_tokens=40, temperature=0.8, top_k=20, seed=0):
        data = self.task.data
        ids = [data.bos_id] + data.tokenizer.encode(prompt)
        out = self.model.generate(np.array([ids], dtype=np.int64), max_new_tokens=max_new_tokens,
                                  temperature=temperature, top_k=top_k, seed=seed)
        new = [int(t) for t in out[0][len(ids):]]
        if data.eos_id in new:
            new = new[:new.index(data.eos_id)]
        return prompt + " " + data.tokenizer.decode(new, skip_special=True)

    def _sentiment(self, texts):
        ids, mask = self.task.encode(texts)
        with no_grad():
            logits, _ = self.model(ids, attention_mask=mask)
        probs = softmax_array(logits.data.astype(np.float64), axis=-1)
        names = self.task.data.class_names
        return [{"label": names[int(p.argmax())], "probability": float(p.max())} for p in probs]

    def _classify(self, images):
        with no_grad():
            logits, _ = self.model(Tensor(np.asarray(images, dtype=np.float32)))
        probs = softmax_array(logits.data.astype(np.float64), axis=-1)
        names = self.task.data.class_names
        results = []
        for p in probs:
            top = np.argsort(-p)[:5]
            results.append({"class": names[int(top[0])], "class_index": int(top[0]),
                            "probability": float(p[top[0]]),
                            "top5": [[names[int(i)], float(p[i])] for i in top]})
        return results

    def _retrieve(self, query):
        """An image → the best val caption; a caption → the best val image (index)."""
        data = self.task.data
        image_emb, text_emb = self.task.embed(self.model, "val")
        with no_grad():
            if isinstance(query, str):
                tokens, eot = encode_captions(data.tokenizer, [_caption_words(data, query)])
                q = self.model.encode_text(tokens, eot).data[0]
                scores = image_emb @ q
                best = int(np.argmax(scores))
                return {"image_index": best, "caption_of_image": data.val_captions[best],
                        "score": float(scores[best])}
            q = self.model.encode_image(np.asarray(query, dtype=np.float32)[None]).data[0]
        scores = text_emb @ q
        best = int(np.argmax(scores))
        return {"caption": data.val_captions[best], "caption_index": best,
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
        if self.family == "vision":
            images = np.asarray(input_data, dtype=np.float32)
            single = images.ndim == 3
            out = self._classify(images[None] if single else images)
            return out[0] if single else out
        return self._retrieve(input_data)

    def predict_split_item(self, index, split="val"):
        """Predict for item ``index`` of a dataset split (an image for vision and CLIP models,
        a review for BERT), with its true label or caption for comparison."""
        data = self.task.data
        if self.family == "vision":
            result = self.predict(getattr(data, f"{split}_images")[index])
            result["true_class"] = data.class_names[int(getattr(data, f"{split}_labels")[index])]
            return result
        if self.family == "clip":
            result = self.predict(getattr(data, f"{split}_images")[index])
            result["true_caption"] = getattr(data, f"{split}_captions")[index]
            return result
        if self.family == "sentiment":
            result = self.predict(getattr(data, f"{split}_texts")[index])
            result["true_label"] = data.class_names[int(getattr(data, f"{split}_labels")[index])]
            return result
        raise ValueError(f"predict_split_item: not defined for {self.name}; use predict(prompt)")

    def get_model_info(self):
        """The documented summary: architecture (config), performance (metrics), training."""
        return {"architecture": self.checkpoint["config"],
                "performance": self.checkpoint["metrics"],
                "training_info": {"epochs": self.checkpoint["epoch"] + 1,
                                  "steps": self.checkpoint["step"]}}


def _caption_words(data, caption):
    """The caption as the training captions are written (lower case, known words, short enough),
    or a ValueError that says what is wrong."""
    words = data.tokenizer.split(caption.lower())
    unknown = sorted({w for w in words if w not in data.tokenizer.token_to_id})
    if unknown:
        raise ValueError(f"caption: words {unknown} are not in the caption vocabulary "
                         f"({len(data.vocab)} words, e.g. 'a large red circle on the left')")
    if not 0 < len(words) <= data.context_length - 2:
        raise ValueError(f"caption: {len(words)} words; expected 1 to "
                         f"{data.context_length - 2} (the text encoder's context is "
                         f"{data.context_length} tokens with <bos> and <eos>)")
    return " ".join(words)
