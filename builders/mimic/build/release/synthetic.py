"""A synthetic tree in the exact Symile-MIMIC 1.0.0 layout (real per-row shapes and dtypes,
release row order and retrieval grouping), for the tests and the import benchmark: nobody
without PhysioNet credentials has the real one.

Each admission carries a code in its arrays (`ecg[0, 0, 0]`, `cxr[0, 0, 0]` and
`labs_percentiles[0]` hold its query position in the split), so a model that reads values
can find its own CXR, and a test can tell a row mix-up from a correct import."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from builders.mimic.build.release.layout import (
    CANDIDATES,
    CSV_HEADER,
    DATA_CSV,
    LAB_COLUMNS,
    RETRIEVAL_SPLITS,
    TEST,
    TRAIN,
    VAL,
    VAL_RETRIEVAL,
    csv_name,
)
from builders.mimic.build.release.writer import ReleaseWriter, release_tree

BLOCK = 32


def write_synthetic_release(dest: Path, train: int, val: int, test: int, seed: int = 0) -> Path:
    """A release with `train` rows and `val` / `test` queries (10 candidate rows each)."""
    if min(val, test) < CANDIDATES:
        raise ValueError(f"val and test need at least {CANDIDATES} queries (9 negatives each)")
    rng = np.random.default_rng(seed)
    queries = {TRAIN: train, VAL: val, VAL_RETRIEVAL: val, TEST: test}
    rows = {s: n * (CANDIDATES if s in RETRIEVAL_SPLITS else 1) for s, n in queries.items()}
    hadm = {
        TRAIN: 20_000_000 + np.arange(train),
        VAL: 25_000_000 + np.arange(val),
        VAL_RETRIEVAL: 25_000_000 + np.arange(val),
        TEST: 29_000_000 + np.arange(test),
    }
    with release_tree(dest, rows) as writer:
        csv_rows = {}
        for split in (TRAIN, VAL_RETRIEVAL, TEST):
            n = queries[split]
            csv_rows[split] = [_csv_row(rng, int(h)) for h in hadm[split]]
            _queries(writer, split, hadm[split], rng)
            if split in RETRIEVAL_SPLITS:
                sets = np.stack([_candidates(rng, q, n) for q in range(n)])
                writer.fill_negatives(split, sets)
        # the release's val is the queries of val_retrieval, the same rows in the same order
        csv_rows[VAL] = csv_rows[VAL_RETRIEVAL]
        for name in ("cxr", "ecg", "labs_percentiles", "labs_missingness", "hadm_id"):
            writer.array(VAL, name)[:] = writer.array(VAL_RETRIEVAL, name)[:val]
        for split, n in queries.items():
            body = list(csv_rows[split])
            header = CSV_HEADER
            if split in (VAL, *RETRIEVAL_SPLITS):
                header = [*CSV_HEADER, "label_hadm_id", "label"]
                body = [[*r, r[1], "1"] for r in body]
            if split in RETRIEVAL_SPLITS:
                label_hadm = writer.array(split, "label_hadm_id")
                own = {int(h): r for h, r in zip(hadm[split], csv_rows[split], strict=True)}
                ids = writer.array(split, "hadm_id")
                body += [
                    [*own[int(ids[i])], str(label_hadm[i]), "0"] for i in range(n, rows[split])
                ]
            writer.write_csv(csv_name(split), header, iter(body))
        everything = [r for s in (TRAIN, VAL, TEST) for r in csv_rows[s]]
        writer.write_csv(DATA_CSV, CSV_HEADER, iter(everything))
        writer.write_labs_means({f"{i}_percentile": 0.5 for i in LAB_COLUMNS})
    return dest


def _csv_row(rng: np.random.Generator, hadm_id: int) -> list[str]:
    values = rng.uniform(1, 100, len(LAB_COLUMNS)).round(1)
    observed = rng.random(len(LAB_COLUMNS)) < 0.8
    labs = [str(v) if o else "" for v, o in zip(values, observed, strict=True)]
    pcts = [f"{rng.random():.4f}" if o else "" for o in observed]
    return [
        str(10_000_000 + hadm_id % 1_000_000),
        str(hadm_id),
        f"files/p/{hadm_id}",
        f"files/c/{hadm_id}.jpg",
        *labs,
        *pcts,
    ]


def _queries(writer: ReleaseWriter, split: str, hadm: np.ndarray, rng: np.random.Generator) -> None:
    """The first len(hadm) rows of a split (every row of train and val): random values in the
    release's ranges, with the admission's code planted."""
    for start in range(0, len(hadm), BLOCK):
        stop = min(len(hadm), start + BLOCK)
        n, code = stop - start, np.arange(start, stop, dtype=np.float32)
        cxr = rng.standard_normal((n, 3, 320, 320), dtype=np.float32)
        cxr[:, 0, 0, 0] = code
        ecg = rng.uniform(-1, 1, (n, 1, 5000, 12)).astype(np.float32)
        ecg[:, 0, 0, 0] = code
        observed = (rng.random((n, 50)) < 0.8).astype(np.int64)
        pcts = rng.random((n, 50), dtype=np.float32)
        pcts[:, 0] = code
        writer.array(split, "cxr")[start:stop] = cxr
        writer.array(split, "ecg")[start:stop] = ecg
        writer.array(split, "labs_percentiles")[start:stop] = pcts
        writer.array(split, "labs_missingness")[start:stop] = observed
        writer.array(split, "hadm_id")[start:stop] = hadm[start:stop]


def _candidates(rng: np.random.Generator, query: int, n: int) -> np.ndarray:
    """Query positions of one retrieval set: its own first, then 9 others drawn at random."""
    others = np.delete(np.arange(n), query)
    return np.concatenate([[query], rng.choice(others, CANDIDATES - 1, replace=False)])
