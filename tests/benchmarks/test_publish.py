"""publish.py: the README blocks are rewritten from the results files, and each target is judged
from the measured figure (a ratio just under its limit passes, one just over fails)."""

import json

import pytest

from benchmarks import publish


def fake_run(ratio_seed, ratio_small):
    def side(ms):
        return {"median_ms": ms, "min_ms": ms, "max_ms": ms, "cpu_median_ms": ms,
                "items_per_s": 1.0, "gflops": 1.0, "pct_sgemm": 1.0}

    def case(name, ratio, rss=None):
        row = {"neural_arch": side(10.0 * ratio), "torch": side(10.0), "ratio": ratio,
               "cpu_ratio": ratio, "neural_arch+torch": side(11.0),
               "with_torch_slowdown": 1.1 / ratio}
        return {"case": name, "figures": {"1": row}, "peak_rss_mb": rss or {}}
    return {"date": "2026-12-02", "machine": {"cpu": "CPU", "logical_cpus": 2, "python": "3",
                                              "numpy": "2", "numba": "0", "torch": "2",
                                              "packages": ["numpy==2"]},
            "sgemm_gflops": {"1": 90.0}, "quiet_before": {"loadavg_1min": 0.1},
            "environment_note": "a fresh venv",
            "cases": [case("gpt2-seed-train", ratio_seed),
                      case("gpt2-small-train", ratio_small,
                           {"neural_arch": 700.0, "torch": 900.0})]}


@pytest.fixture
def readmes(tmp_path, monkeypatch):
    root = tmp_path / "README.md"
    bench = tmp_path / "BENCH.md"
    root.write_text("top\n<!-- bench:summary -->\nold\n<!-- /bench:summary -->\nbottom\n")
    bench.write_text("<!-- bench:full -->\nold\n<!-- /bench:full -->\n"
                     "<!-- bench:targets -->\nold\n<!-- /bench:targets -->\n")
    monkeypatch.setattr(publish, "ROOT_README", str(root))
    monkeypatch.setattr(publish, "BENCH_README", str(bench))
    monkeypatch.setattr(publish, "RESULTS", str(tmp_path))    # no kernels / shakespeare files
    return root, bench


def test_blocks_rewritten_and_targets_judged(tmp_path, readmes):
    root, bench = readmes
    run = tmp_path / "run.json"
    run.write_text(json.dumps(fake_run(0.79, 0.97)))
    publish.main([str(run)])
    top = root.read_text()
    assert top.startswith("top\n") and top.endswith("bottom\n") and "old" not in top
    assert "| gpt2-seed-train | 1 | 7.9 | 10.0 | 0.79 |" in top and "a fresh venv" in top
    targets = bench.read_text()
    assert "| gpt2-seed-train, 1 thread(s): ratio ≤ 0.8 | 0.79 | yes |" in targets
    assert "| gpt2-small-train, 1 thread(s): ratio ≤ 0.95 | 0.97 | NO |" in targets
    assert "| gpt2-small-train peak RSS ≤ PyTorch's | 700 / 900 MB | yes |" in targets


@pytest.mark.parametrize("which, block", [(0, "summary"), (1, "full")])
def test_a_readme_without_its_markers_is_an_error_and_neither_file_changes(tmp_path, readmes,
                                                                           capsys, which, block):
    """Either README without its markers: one line naming the block, status 2, and neither
    README is written (the other one's text is built but not saved)."""
    paths = list(readmes)
    paths[which].write_text("no markers here\n")
    before = [path.read_text() for path in paths]
    run = tmp_path / "run.json"
    run.write_text(json.dumps(fake_run(0.5, 0.5)))
    with pytest.raises(SystemExit) as exit_info:
        publish.main([str(run)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and len(err.strip().splitlines()) == 1
    assert f"no <!-- bench:{block} -->" in err
    assert [path.read_text() for path in paths] == before


@pytest.mark.parametrize("content, says", [(None, "cannot read results file"),
                                           ("{not json", "cannot read results file"),
                                           ('{"date": "2026-12-07"}', "not a full run's"),
                                           ('[1, 2]', "not a full run's")])
def test_an_unreadable_results_file_is_one_line_and_status_2(tmp_path, readmes, capsys,
                                                             content, says):
    root, bench = readmes
    before = root.read_text(), bench.read_text()
    run = tmp_path / "run.json"
    if content is not None:
        run.write_text(content)
    with pytest.raises(SystemExit) as exit_info:
        publish.main([str(run)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and says in err and str(run) in err
    assert len(err.strip().splitlines()) == 1
    assert (root.read_text(), bench.read_text()) == before      # nothing rewritten


def shakespeare_result(iters, vals, reached_at=None, with_field=True):
    """A results file's dict: both sides with the same curve, ``vals`` at iterations 0, 1, ..."""
    curve = [{"iter": i, "train": v, "val": v, "elapsed_s": 10.0 * i} for i, v in enumerate(vals)]

    def side(wall):
        r = {"curve": curve, "wall_s": wall, "train_s": wall - 1.0, "final_val": vals[-1]}
        if with_field:
            r["time_to_target_s"] = None if reached_at is None else 10.0 * reached_at
            r["iter_to_target"] = reached_at
        return r
    return {"config": {"max_iters": iters}, "threads": 1,
            "results": {"neural_arch": side(80.0), "torch": side(100.0)}, "time_ratio": 0.8}


def test_shakespeare_block_says_when_each_side_reached_the_target():
    main = shakespeare_result(3000, [4.4, 1.9, 1.87, 1.8], reached_at=2)
    reference = shakespeare_result(2000, [4.4, 1.95, 1.8954], reached_at=None)
    text = publish.shakespeare_text(main, reference)
    assert "| neural_arch | 1.8000 | 80 s | 79 s | iteration 2, 20 s |" in text
    assert "(2000 iterations, `--iters 2000`): val loss 1.8954 (PyTorch 1.8954), 80 s against " \
           "100 s" in text
    never = publish.shakespeare_text(reference)
    assert "| not reached |" in never and "nanoGPT's own command" not in never
    older = publish.shakespeare_text(shakespeare_result(2000, [4.4, 1.87], with_field=False))
    assert "| 1.8700 | 80 s | 79 s | – |" in older      # a file from before the field existed


def test_shakespeare_targets_name_the_iteration_count(tmp_path, monkeypatch):
    monkeypatch.setattr(publish, "RESULTS", str(tmp_path))
    (tmp_path / "shakespeare_char.json").write_text(
        json.dumps(shakespeare_result(3000, [4.4, 1.87], reached_at=1)))
    lines = {target: (measured, met) for target, measured, met in publish.target_lines(
        fake_run(0.79, 0.9))}
    assert lines["shakespeare_char: final val loss ≤ 1.88 (3000 iterations)"] == (
        "1.8700 (PyTorch 1.8700)", True)

