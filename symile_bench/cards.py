"""Dataset cards: the builder's prose template plus Hugging Face YAML front matter.

The YAML lists every config with its `data_files`, so `datasets.load_dataset(DIR, config)`
finds the shards offline, and `dataset_info` declares the features (Audio, Image, ...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib.resources import files
from typing import Any

import datasets
import yaml

from symile_bench.manifest import Manifest

SYMILE_BIBTEX = """@inproceedings{saporta2024symile,
  title     = {Contrasting with Symile: Simple Model-Agnostic Representation Learning for
               Unlimited Modalities},
  author    = {Saporta, Adriel and Puli, Aahlad and Goldstein, Mark and Ranganath, Rajesh},
  booktitle = {Advances in Neural Information Processing Systems},
  year      = {2024},
  eprint    = {2411.01053},
  archivePrefix = {arXiv}
}"""

CARD_NAME = "README.md"  # the card of a dataset directory, as the Hub reads it
POOL_SPLIT = "pool"  # the one split of a published pool's config
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def packaged_template(name: str) -> str:
    return files("symile_bench._cards").joinpath(f"{name}.md").read_text("utf-8")


def render_template(template: str, variables: Mapping[str, str]) -> str:
    """Replace `{{name}}`; an unknown placeholder is a bug in the builder, so it raises."""

    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in variables:
            raise KeyError(f"card placeholder {{{{{key}}}}} has no value")
        return str(variables[key])

    return _PLACEHOLDER.sub(substitute, template)


def front_matter(manifest: Manifest, license_id: str, extension: str) -> dict[str, Any]:
    """Each variant a config (the first the default), and each published pool a config of its
    own with one split, `pool`, so `datasets.load_dataset(DIR, NAME)` reads either."""
    configs, infos = [], []
    for i, (variant, record) in enumerate(manifest.variants.items()):
        entry: dict[str, Any] = {
            "config_name": variant,
            "data_files": [
                {"split": split, "path": f"data/{variant}/{split}-*.{extension}"}
                for split in record.splits
            ],
        }
        if i == 0:
            entry["default"] = True
        configs.append(entry)
        splits = {
            s: (r.rows, sum(f.bytes or 0 for f in r.shards)) for s, r in record.splits.items()
        }
        infos.append(_info(variant, record.features, splits))
    for name, pool in manifest.pools.items():
        path = [f.file for f in pool.files]
        configs.append({"config_name": name, "data_files": [{"split": POOL_SPLIT, "path": path}]})
        size = sum(f.bytes or 0 for f in pool.files)
        infos.append(_info(name, pool.features, {POOL_SPLIT: (pool.rows, size)}))
    return {"license": license_id, "configs": configs, "dataset_info": infos}


def _info(
    config: str, features: dict[str, Any], splits: dict[str, tuple[int, int]]
) -> dict[str, Any]:
    """The `dataset_info` entry of one config: its features, and rows and bytes per split."""
    info = datasets.DatasetInfo(
        features=datasets.Features.from_dict(features),
        splits=datasets.SplitDict(
            {
                s: datasets.SplitInfo(name=s, num_examples=rows, num_bytes=size)
                for s, (rows, size) in splits.items()
            }
        ),
        dataset_size=sum(size for _, size in splits.values()),
    )
    return {"config_name": config, **info._to_yaml_dict()}


def summary_table(manifest: Manifest) -> str:
    lines = ["| config | split | rows | shards | fingerprint |", "|---|---|---|---|---|"]
    for variant, record in manifest.variants.items():
        for split, rec in record.splits.items():
            lines.append(
                f"| {variant} | {split} | {rec.rows:,} | {len(rec.shards)} | "
                f"`{rec.fingerprint[:16]}` |"
            )
    return "\n".join(lines)


def render_card(
    manifest: Manifest,
    *,
    template: str,
    license_id: str,
    variables: Mapping[str, str],
    extension: str = "arrow",
) -> str:
    """The card of a dataset directory: YAML front matter from the manifest, then the
    builder's prose `template` with its `{{name}}` `variables` (plus the ones every card has)."""
    values = {
        "toolkit_version": manifest.toolkit_version,
        "seed": str(manifest.seed),
        "fingerprint": manifest.fingerprint,
        "summary_table": summary_table(manifest),
        "default_config": next(iter(manifest.variants)),
        "citation": SYMILE_BIBTEX,
        **variables,
    }
    yaml_text = yaml.safe_dump(
        front_matter(manifest, license_id, extension), sort_keys=False, allow_unicode=True
    )
    body = render_template(template, values).strip()
    note = withheld_note(manifest)
    if note:
        body += "\n\n" + note
    return f"---\n{yaml_text}---\n\n{body}\n"


def withheld_note(manifest: Manifest) -> str:
    """The card's section on a blind release (`build --blind`); empty for an ordinary build."""
    withheld: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for variant, record in manifest.variants.items():
        for split, rec in record.splits.items():
            if rec.withheld:
                withheld.setdefault((split, tuple(rec.withheld)), []).append(variant)
    if not withheld:
        return ""
    lines = [
        "## Withheld test answers",
        "",
        "This is a blind release: the answers of the evaluation split are kept by the "
        "benchmark operator, not published here.",
    ]
    for (split, columns), variants in withheld.items():
        names = ", ".join(f"`{c}`" for c in columns)
        configs = ", ".join(f"`{v}`" for v in variants)
        lines.append(
            f"In the `{split}` split of {configs}, the columns {names} are null in every row."
        )
    lines += [
        "",
        "To score a model, run `symile-bench evaluate DIR --model ...` (on this split "
        "it writes each query's top-k candidate ids and no scores) and send the results "
        "file to the leaderboard with `symile-bench submit`; the server scores it against "
        "the answer key.",
    ]
    return "\n".join(lines)
