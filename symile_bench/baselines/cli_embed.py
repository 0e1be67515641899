"""`symile-bench embed`, registered by ``symile_bench.cli``. Thin: parse options, call
``baselines.embed``, show progress; heavy imports happen inside the command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from symile_bench.console import Quiet, console


def embed(
    path: Annotated[
        Path, typer.Argument(help="A dataset directory (a build or an import, e.g. hf-m3).")
    ],
    modality: Annotated[
        str, typer.Option(help="'audio' (a Whisper encoder) or 'image' (a CLIP vision encoder).")
    ],
    encoder: Annotated[
        str,
        typer.Option(
            help="The frozen encoder: a local directory (save_pretrained, or `hf download ID "
            "--local-dir DIR`) or a Hub id already in the local Hugging Face cache; never "
            "downloaded. The paper: openai/whisper-large-v3 (audio), "
            "openai/clip-vit-large-patch14 (image)."
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Directory for MODALITY.parquet (key + embedding) and MODALITY.json; audio "
            "and image may share it. Rerun the same command to continue a killed run.",
        ),
    ],
    device: Annotated[
        str, typer.Option(help="Where the encoder runs: cpu, cuda or cuda:N.")
    ] = "cpu",
    batch_size: Annotated[int, typer.Option(help="Media per forward pass.")] = 32,
    dtype: Annotated[
        str,
        typer.Option(
            help="Encoder precision: float32 (the release) or, on a GPU, float16 / bfloat16 "
            "(faster; the vectors then differ from the release's in their low bits)."
        ),
    ] = "float32",
    overwrite: Annotated[
        bool, typer.Option(help="Discard this modality's finished or unfinished vectors in OUT.")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Run a frozen pretrained encoder once over every distinct clip or image of a dataset,
    with the Symile-M3 release's pooling (Whisper: mean of the encoder's last hidden state
    over all 1,500 frames; CLIP: the vision model's pooler output), for `train --arch paper`
    and `evaluate --embeddings`."""
    from symile_bench.baselines.embed import embed as run_embed
    from symile_bench.baselines.hf_models import quiet_transformers
    from symile_bench.progress import progress_bar

    quiet_transformers()
    with progress_bar(quiet) as progress:

        def track(description: str, total: int, unit: str):
            task = progress.add_task(description, total=total, unit=unit)
            return lambda n: progress.advance(task, n)

        result = run_embed(
            path,
            modality,
            encoder,
            out,
            device=device,
            batch_size=batch_size,
            dtype=dtype,
            overwrite=overwrite,
            track=track,
        )
    if not quiet:
        done = "already complete" if result.encoded == 0 else f"{result.seconds:.1f} s"
        console.print(
            f"[green]✓[/] {result.path}: {result.count:,} {modality} vectors of "
            f"{result.dim} ({done})"
        )
