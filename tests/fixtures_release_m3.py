"""Tiny Symile-M3 releases in the release's exact on-disk layouts, for tests/test_release_m3.py:
the Hub repo (Parquet written by `datasets` with the Hub's features, README YAML `configs`,
translations.json) and the release code's CSVs with their Common Voice / ImageNet trees.
Media are real MP3 (ffmpeg sine waves) and JPEG (Pillow) bytes."""

from __future__ import annotations

import csv
import io
import json
import random
import subprocess
from functools import cache
from pathlib import Path

import datasets
from PIL import Image

from symile_bench.lexicon import load_lexicon

LANGS = ("en", "el")
N_CLASSES = 4
CSV_COLUMNS = (
    "lang",
    "audio_path",
    "audio_filename",
    "cls",
    "image_path",
    "cls_id",
    "target_text",
    "text",
)
HUB_FEATURES = datasets.Features(
    {
        "lang": datasets.Value("string"),
        "audio": datasets.Audio(),
        "image": datasets.Image(),
        "text": datasets.Value("string"),
        "cls": datasets.Value("string"),
        "cls_id": datasets.Value("int64"),
        "target_text": datasets.Value("string"),
    }
)


@cache
def mp3_bytes(index: int) -> bytes:
    """A 0.1 s sine wave encoded as MP3 by ffmpeg (each index its own pitch)."""
    return subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={300 + 50 * index}:duration=0.1",
            "-f",
            "mp3",
            "pipe:1",
        ],
        capture_output=True,
        check=True,
    ).stdout


@cache
def jpeg_bytes(index: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (40 * index % 256, 90, 200)).save(out, "JPEG")
    return out.getvalue()


def classes() -> list[dict]:
    """The first classes of the embedded lexicon, as translations.json entries."""
    lex = load_lexicon(None)
    return [
        {
            "name": lex.english[k],
            "synset_id": lex.synset_id[k],
            "cls_id": int(lex.cls_id[k]),
            **{lang: lex.words[lang][k] for lang in LANGS},
        }
        for k in range(N_CLASSES)
    ]


def translations() -> dict:
    return {c["name"]: {k: v for k, v in c.items() if k != "name"} for c in classes()}


def release_rows(n: int, seed: int) -> list[dict]:
    """Rows drawn as generate_data.py draws them (disjoint mode, w = 2): each row names its
    class in its language and one other class in the other language."""
    rng, table = random.Random(seed), classes()
    rows = []
    for _ in range(n):
        li, ci = rng.randrange(len(LANGS)), rng.randrange(N_CLASSES)
        lang, cls = LANGS[li], table[ci]
        other = table[rng.choice([k for k in range(N_CLASSES) if k != ci])]
        words = [cls[lang], other[LANGS[1 - li]]]
        rng.shuffle(words)
        clip, image = rng.randrange(3), rng.randrange(3)
        rows.append(
            {
                "lang": lang,
                "clip": f"common_voice_{lang}_{clip}.mp3",
                "audio": mp3_bytes(clip + 3 * li),
                "image_name": f"{cls['synset_id']}_{image}.JPEG",
                "image": jpeg_bytes(image + 3 * ci),
                "synset_id": cls["synset_id"],
                "text": "_".join(words),
                "cls": cls["name"],
                "cls_id": cls["cls_id"],
                "target_text": cls[lang],
            }
        )
    return rows


SIZES = {"train": 12, "val": 6, "test": 10}


def write_hub_repo(root: Path, config: str = "symile-m3-2-xs", train_parts: int = 2) -> Path:
    """`root/<config>/<split>-NNNNN-of-MMMMM.parquet` + README.md + translations.json."""
    for s, (split, n) in enumerate(SIZES.items()):
        rows = release_rows(n, seed=s)
        parts = train_parts if split == "train" else 1
        (root / config).mkdir(parents=True, exist_ok=True)
        for p in range(parts):
            chunk = rows[p * n // parts : (p + 1) * n // parts]
            data = {
                "lang": [r["lang"] for r in chunk],
                "audio": [{"bytes": r["audio"], "path": r["clip"]} for r in chunk],
                "image": [{"bytes": r["image"], "path": r["image_name"]} for r in chunk],
                **{k: [r[k] for r in chunk] for k in ("text", "cls", "cls_id", "target_text")},
            }
            path = root / config / f"{split}-{p:05d}-of-{parts:05d}.parquet"
            datasets.Dataset.from_dict(data, features=HUB_FEATURES).to_parquet(str(path))
    (root / "translations.json").write_text(json.dumps(translations(), ensure_ascii=False))
    (root / "README.md").write_text(
        "---\nlicense: cc-by-nc-sa-4.0\nconfigs:\n"
        f"- config_name: {config}\n  data_files:\n"
        + "".join(f"  - split: {s}\n    path: {config}/{s}-*.parquet\n" for s in SIZES)
        + "---\n# Symile-M3 (test fixture)\n"
    )
    return root


def write_csv_release(root: Path) -> tuple[Path, Path, Path]:
    """The CSV dir, Common Voice root and ImageNet root that generate_data.py's CSVs name."""
    csv_dir, cv, imagenet = root / "csv", root / "cv-root", root / "imagenet-root"
    csv_dir.mkdir(parents=True)
    for s, (split, n) in enumerate(SIZES.items()):
        with (csv_dir / f"{split}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for r in release_rows(n, seed=s):
                audio = Path("cv", r["lang"], "clips", r["clip"])
                image = Path("ILSVRC/Data/CLS-LOC/train", r["synset_id"], r["image_name"])
                for base, rel, data in ((cv, audio, r["audio"]), (imagenet, image, r["image"])):
                    (base / rel).parent.mkdir(parents=True, exist_ok=True)
                    (base / rel).write_bytes(data)
                writer.writerow(
                    [
                        r["lang"],
                        audio.as_posix(),
                        audio.stem,
                        r["cls"],
                        image.as_posix(),
                        r["cls_id"],
                        r["target_text"],
                        r["text"],
                    ]
                )
    (root / "translations.json").write_text(json.dumps(translations(), ensure_ascii=False))
    return csv_dir, cv, imagenet
