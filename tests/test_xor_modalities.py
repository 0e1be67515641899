"""XOR with M modalities (`build xor --modalities M`) through the commands a researcher runs:
the default three-modality build unchanged to the byte, the generating process at M = 4 and 5,
the Walsh-character oracle exact under `mip` and not above chance under `pairwise`, the
missing-modality protocol and query subsets at M = 4, and the one-line errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import symile_bench
from builders.xor.models.oracle import walsh_characters
from symile_bench.manifest import read_manifest

from .conftest import run_cli

#: Recorded from the base commit a8089b5 (before `--modalities` existed): `symile-bench build
#: xor --out DIR` with every default (d = 5, 11 values of p, 10K/1K/5K rows, seed 0). The
#: dataset fingerprint hashes the config as recorded in manifest.json, the seed and every split
#: fingerprint (each a hash of its shards' sha256), so equal fingerprints mean an unchanged
#: config record and unchanged shards; SHARDS is the sha256 of the sorted "file sha256" lines
#: of the 33 shards, recomputed here from the bytes on disk.
BASE_FINGERPRINT = "dc70536963c93e58fe2ba15273cad3709eff7be11a920602128f3d78d000f839"
BASE_SHARDS = "846fefcffce4e747cee4371aa723da42fa4cf3a6958758072936badc64e7f1bd"
FAST = ("--bootstrap", "200", "-q")


def shards_digest(out: Path) -> str:
    lines = sorted(
        f"{p.relative_to(out).as_posix()} {hashlib.sha256(p.read_bytes()).hexdigest()}"
        for p in out.rglob("*.arrow")
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def top1(path: Path, condition: str | None = None) -> dict:
    rows = json.loads(path.read_text())["rows"]
    return next(r for r in rows if r["metric"] == "top1" and r["condition"] == condition)


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict[int, Path]:
    """M = 3, 4, 5 at p = 0, 0.5, 1 with 2,000 test rows each."""
    out = {}
    for m in (3, 4, 5):
        out[m] = tmp_path_factory.mktemp("xor") / f"m{m}"
        run_cli(
            "build",
            "xor",
            "--modalities",
            m,
            "--p",
            "0.0,0.5,1.0",
            "--train-n",
            200,
            "--val-n",
            50,
            "--test-n",
            2000,
            "--out",
            out[m],
            "-q",
        )
    return out


def test_default_build_is_byte_identical_to_the_base_commit(tmp_path):
    """Proves `build xor` with every default, and with `--modalities 3` given, writes the same
    shards (re-hashed from disk) and the same dataset fingerprint as the code before the option
    existed, and that its manifest records no `modalities` (so every split fingerprint and the
    config record are unchanged)."""
    for name, extra in (("default", ()), ("three", ("--modalities", "3"))):
        out = tmp_path / name
        run_cli("build", "xor", *extra, "--out", out, "-q")
        manifest = read_manifest(out)
        assert "modalities" not in manifest.config
        assert manifest.label == ""
        assert manifest.fingerprint == BASE_FINGERPRINT
        assert shards_digest(out) == BASE_SHARDS


def test_generating_process_for_four_and_five_modalities(builds):
    """Proves the declared process: modalities named a, b, c, d(, e) plus the switch i; at p = 1
    the XOR of all M modalities is 0 in every row; at p = 0 the last modality is a copy of a;
    the switch's mean is within 4 standard errors of p; the draws of the first modalities
    coincide across M (x_1 ... x_{M-1} are drawn first, in order, then the switch); the
    manifest names the build by its label m4 / m5 and declares target b with every other
    modality a query."""
    for m, names in ((4, "abcd"), (5, "abcde")):
        out = builds[m]
        manifest = read_manifest(out)
        assert manifest.config["modalities"] == m and manifest.label == f"m{m}"
        task = manifest.tasks[0]
        assert [x.name for x in task.modalities] == list(names) and task.target == "b"
        for p in (0.0, 0.5, 1.0):
            rows = symile_bench.load(out, config=f"p{p}", split="test")
            assert rows.column_names == [*names, "i"]
            x = {k: np.array(rows[k]) for k in names}
            i = np.array(rows["i"])
            assert abs(i.mean() - p) <= 4 * np.sqrt(p * (1 - p) / len(i)) + 1e-12
            if p == 1.0:
                assert not np.bitwise_xor.reduce(np.stack(list(x.values())), axis=0).any()
            if p == 0.0:
                assert np.array_equal(x[names[-1]], x["a"])
    three = symile_bench.load(builds[3], config="p0.5", split="test")
    four = symile_bench.load(builds[4], config="p0.5", split="test")
    assert three["a"] == four["a"] and three["b"] == four["b"]


def test_walsh_characters_make_mip_the_indicator_of_the_xor():
    """Proves the math the oracle rests on: with χ_s(x) = (−1)^(s·x) over every s, the MIP of
    the M embeddings is exactly 2^d · [x_1 XOR ... XOR x_M = 0], for M = 3, 4, 5 on random and
    on XOR-completed tuples."""
    rng = np.random.default_rng(0)
    d = 4
    for m in (3, 4, 5):
        xs = [rng.integers(0, 2, (500, d)) for _ in range(m)]
        xs[-1][:250] = np.bitwise_xor.reduce(np.stack(xs[:-1]), axis=0)[:250]  # half complete
        product = np.prod([walsh_characters(x) for x in xs], axis=0).sum(1)
        indicator = ~np.bitwise_xor.reduce(np.stack(xs), axis=0).any(1)
        assert np.array_equal(product, (1 << d) * indicator)
        assert indicator[:250].all() and not indicator[250:].all()


@pytest.mark.parametrize("m", [3, 4, 5])
def test_walsh_oracle_exact_under_mip_and_never_above_chance_pairwise(builds, m, tmp_path):
    """Proves, through `evaluate`, that the Walsh-character oracle ranks b first in every query
    at p = 1 under `mip` (top-1 = 1.0) for M = 3, 4, 5, and that the same embeddings scored
    `pairwise` (`--embeddings ... --scoring pairwise`) do not beat chance: its interval contains
    1/32 at M = 3 and 5, and lies at or below it at M = 4 (the pairwise score lifts the
    candidates equal to a query; b equals query a exactly when the other two queries coincide,
    and then the candidate equal to both is lifted more, so b is almost never first)."""
    out = builds[m]
    mip = tmp_path / "mip.json"
    run_cli(
        "evaluate",
        out,
        "--config",
        "p1.0",
        "--model",
        "xor-walsh",
        "--save-embeddings",
        tmp_path / "emb",
        "--out",
        mip,
        *FAST,
    )
    assert top1(mip)["value"] == 1.0
    pairwise = tmp_path / "pairwise.json"
    run_cli(
        "evaluate",
        out,
        "--config",
        "p1.0",
        "--embeddings",
        tmp_path / "emb",
        "--scoring",
        "pairwise",
        "--out",
        pairwise,
        *FAST,
    )
    row = top1(pairwise)
    assert row["chance"] == pytest.approx(1 / 32)
    assert row["ci_low"] <= 1 / 32
    if m != 4:
        assert row["ci_high"] >= 1 / 32


def test_missing_protocol_and_query_subsets_at_four_modalities(builds, tmp_path):
    """Proves the harness is generic in M: at M = 4 the missing-modality protocol scores every
    non-empty subset of the three queries (7 conditions) and `--query-subsets` every proper one
    (6), `--target d` ranks d from (a, b, c), the oracle is exact with all queries, and
    `report --diagnostic` names the scorer's interaction for 4 modalities (quadrilinear)."""
    out = tmp_path / "r.json"
    run_cli(
        "evaluate",
        builds[4],
        "--config",
        "p1.0",
        "--model",
        "xor-oracle",
        "--missing-protocol",
        "--query-subsets",
        "--out",
        out,
        *FAST,
    )
    results = json.loads(out.read_text())
    conditions = {r["condition"] for r in results["rows"] if r["metric"] == "top1"}
    observed = {c for c in conditions if c is None or c.startswith("observed=")}
    subsets = {c for c in conditions if c is not None and c.startswith("queries=")}
    assert len(observed) == 7 and len(subsets) == 6
    assert top1(out)["value"] == 1.0
    assert results["task"]["query_modalities"] == ["a", "c", "d"]
    for c in subsets:
        assert top1(out, c)["ci_low"] <= 1 / 32 + 0.02  # b is independent of every proper subset
    target = tmp_path / "d.json"
    run_cli(
        "evaluate",
        builds[4],
        "--config",
        "p1.0",
        "--model",
        "xor-oracle",
        "--target",
        "d",
        "--out",
        target,
        *FAST,
    )
    assert top1(target)["value"] == 1.0
    report = run_cli("report", out, "--diagnostic")
    assert "4 modalities" in report.stdout and "quadrilinear" in report.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["build", "xor", "--modalities", "2", "--out", "{tmp}/x"], "--modalities"),
        (["xor-info", "--modalities", "2"], "--modalities must be between 3"),
        (["xor-info", "--modalities", "8"], "lower --d or --modalities"),
        (["reproduce", "xor", "--modalities", "2,3", "--out", "{tmp}/r"], "--modalities"),
    ],
)
def test_out_of_range_modalities_are_one_line_errors(args, needle, tmp_path):
    """Proves M = 2 (no higher-order interaction) and an M whose exact information terms would
    not fit in memory are refused in one line naming the option, before any work."""
    proc = run_cli(*(a.replace("{tmp}", str(tmp_path)) for a in args), check=False)
    assert proc.returncode != 0
    lines = [x for x in proc.stderr.strip().splitlines() if x.strip()]
    assert len(lines) == 1 and needle in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "x").exists() and not (tmp_path / "r").exists()


def test_leaderboard_tells_builds_of_different_m_apart(builds):
    """Proves a leaderboard registers an M = 4 build under its own name (the builder's label
    m4: `xor-m4-p1.0-test`, where the paper's three keep `xor-p1.0-test`) and shows the task
    with its three queries; the answer key ranks b from (a, c, d)."""
    from symile_bench.leaderboard.answerkey import answer_key_from_dataset

    four = answer_key_from_dataset(builds[4], config="p1.0")
    three = answer_key_from_dataset(builds[3], config="p1.0")
    assert four.default_name == "xor-m4-p1.0-test" and three.default_name == "xor-p1.0-test"
    assert "(a, c, d)" in four.description["task"] and four.target == "b"


def test_another_m_into_a_default_build_is_refused_naming_the_option(tmp_path):
    """Proves a build with --modalities 4 into the directory of a default build is refused in
    one line that names the option and its default (the three-modality config records none)."""
    args = ["build", "xor", "--p", "1.0", "--train-n", 10, "--val-n", 10, "--test-n", 10]
    run_cli(*args, "--out", tmp_path / "x", "-q")
    proc = run_cli(*args, "--modalities", 4, "--out", tmp_path / "x", check=False)
    assert proc.returncode != 0 and "--modalities default -> 4" in proc.stderr
