"""Small things a first-time user runs into (issue #14, point 15), through the public API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

import symile_bench
from symile_bench.harness.bootstrap import paired_bootstrap


def test_version_flag(cli) -> None:
    result = cli("--version")
    assert result.stdout.strip() == f"symile-bench {symile_bench.__version__}"


def test_load_takes_name_like_load_dataset_and_the_card_has_real_sizes(cli, tmp_path: Path):
    out = tmp_path / "x"
    cli("build", "xor", "--p", "0.5,1.0", "--out", out, "-q")
    by_name = symile_bench.load(out, name="p1.0", split="test")
    by_config = symile_bench.load(out, config="p1.0", split="test")
    assert by_name["b"] == by_config["b"] and len(by_name) == 5000
    card = (out / "README.md").read_text().split("---")[1]
    info = {i["config_name"]: i for i in yaml.safe_load(card)["dataset_info"]}["p1.0"]
    on_disk = {
        s: sum(f.stat().st_size for f in (out / "data" / "p1.0").glob(f"{s}-*.arrow"))
        for s in ("train", "validation", "test")
    }
    assert {s["name"]: s["num_bytes"] for s in info["splits"]} == on_disk
    assert info["dataset_size"] == sum(on_disk.values()) > 0


def test_a_p_value_at_the_resampling_floor_reads_as_a_bound() -> None:
    a, b = np.ones(500), np.zeros(500)
    floor = paired_bootstrap(a, b, resamples=1000, seed=0)
    assert floor.p_value_text() == "< 0.001"
    tied = paired_bootstrap(a, a, resamples=1000, seed=0)
    assert tied.p_value_text() == f"{tied.p_value:.4f}"
