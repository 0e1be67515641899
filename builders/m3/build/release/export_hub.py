"""`symile-bench export DIR --format hf-m3`: a Symile-M3 dataset directory in the Hub
release's layout, loadable with `datasets.load_dataset(DIR2, CONFIG)` and by the release's
consumers: `<config>/<split>-NNNNN-of-MMMMM.parquet` (splits train/val/test, one part per
shard), the Hub's features in their order, README YAML `configs`, `translations.json`.

Media bytes are copied as they are: the Hub's Audio/Image features hold any encoded file, so
our builds' MP3/FLAC clips and JPEG/PNG/WebP images need no re-encoding.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from builders.m3.build.classes import class_table
from builders.m3.build.config import M3Config
from builders.m3.build.release.export_common import ExportSource, export_source
from builders.m3.build.release.schema import LICENSE, RELEASE_ID, release_schema
from symile_bench.atomic import atomic_directory
from symile_bench.progress import progress_bar


def export_hf_m3(source: Path, dest: Path) -> Path:
    src = export_source(Path(source), "hf-m3")
    print(f"config name {src.name}: {src.why}")
    with atomic_directory(Path(dest)) as out:
        (out / src.name).mkdir()
        total = sum(r.rows for r in src.manifest.variants[src.variant].splits.values())
        with progress_bar() as progress:
            bar = progress.add_task("export hf-m3", total=total, unit="rows")
            for split, shards in src.splits().items():
                for i, shard in enumerate(shards or [None]):
                    part = out / src.name / f"{split}-{i:05d}-of-{max(len(shards), 1):05d}.parquet"
                    with pq.ParquetWriter(part, release_schema()) as writer:
                        for batch in src.batches(shard) if shard else ():
                            writer.write_batch(batch)
                            progress.advance(bar, batch.num_rows)
        (out / "README.md").write_text(_card(src), encoding="utf-8")
        translations = _translations(src)
        if translations is not None:
            (out / "translations.json").write_text(
                json.dumps(translations, ensure_ascii=False, indent=2), encoding="utf-8"
            )
    return Path(dest)


def _card(src: ExportSource) -> str:
    front = {
        "license": LICENSE,
        "configs": [
            {
                "config_name": src.name,
                "data_files": [
                    {"split": split, "path": f"{src.name}/{split}-*.parquet"}
                    for split in src.splits()
                ],
            }
        ],
    }
    return (
        f"---\n{yaml.safe_dump(front, sort_keys=False)}---\n\n"
        f"# Symile-M3 `{src.name}` in the layout of the Hub release `{RELEASE_ID}`\n\n"
        f"Exported by `symile-bench export --format hf-m3` from the dataset directory "
        f"`{src.path}` (builder `{src.manifest.builder}`, fingerprint "
        f"`{src.manifest.fingerprint}`, config `{src.variant}`).\n\n"
        f"Config name `{src.name}`: {src.why}.\n\n"
        "Columns, in the release's order: lang, audio (Audio), image (Image), text, cls, "
        "cls_id (int64), target_text. Media bytes are the source's, unchanged.\n\n"
        f"Licence: {LICENSE} for the release's data; a build of ours keeps its own sources' "
        "terms (see its card).\n"
    )


def _translations(src: ExportSource) -> dict[str, dict[str, object]] | None:
    """Our builds' lexicon in the release's `translations.json` format (imports carry none:
    use the release's own file)."""
    if src.manifest.builder != "m3":
        return None
    lex = class_table(M3Config(**src.manifest.config)).lexicon
    return {
        lex.english[k]: {
            "synset_id": lex.synset_id[k],
            "cls_id": int(lex.cls_id[k]),
            **{("zh-CN" if lang == "zh" else lang): lex.words[lang][k] for lang in lex.words},
        }
        for k in range(len(lex))
    }
