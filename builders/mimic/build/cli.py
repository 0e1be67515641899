"""`symile-bench fake-mimic OUT`: the command; the tree itself is written by `fake.generate`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def fake_mimic_command(
    out: Annotated[Path, typer.Argument(help="New (or empty) folder for the synthetic tree.")],
    admissions: Annotated[
        int, typer.Option(help="Admissions in admissions.csv.gz, planted edge cases included.")
    ] = 200,
    seed: Annotated[int, typer.Option(help="Seed: the same seed writes the same tree.")] = 0,
    signal: Annotated[
        str,
        typer.Option(
            help="Latent shaping each admission's ECG, labs and CXR: none; pairwise (one shared "
            "code); higher-order (as in Symile-M3: the ECG alone says nothing about the CXR, the "
            "labs alone half of it, the two jointly all of it); or xor (the CXR depends on ECG "
            "and labs only jointly)."
        ),
    ] = "none",
    labs_per_admission: Annotated[
        int, typer.Option(help="labevents rows per admission (MIMIC-IV has about 280).")
    ] = 40,
    media: Annotated[
        bool,
        typer.Option(
            "--media/--no-media",
            help="Write WFDB records and JPGs (--no-media: tables only, for scale tests).",
        ),
    ] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing.")] = False,
) -> None:
    """Write a SYNTHETIC MIMIC-shaped source tree (no patient data) for tests and demos."""
    from builders.mimic.build.fake import (
        CXR_DIR,
        ECG_DIR,
        IV_DIR,
        SMALL_FRACTIONS,
        SMALL_TREE,
        generate,
    )

    summary = generate(
        out,
        admissions,
        seed=seed,
        signal=signal,
        labs_per_admission=labs_per_admission,
        media=media,
    )
    if not quiet:
        typer.echo(
            f"SYNTHETIC tree at {summary.root}: {summary.admissions:,} admissions, "
            f"{summary.ecg_records:,} ECG records, {summary.cxr_images:,} CXR images, "
            f"{summary.lab_rows:,} lab rows, {summary.planted_cases} planted cases "
            f"(fake_cases.json)\nbuild it: symile-bench build mimic --mimic-iv {out / IV_DIR} "
            f"--mimic-iv-ecg {out / ECG_DIR} --mimic-cxr-jpg {out / CXR_DIR} --out OUT"
            + (SMALL_FRACTIONS if summary.admissions < SMALL_TREE else "")
        )
