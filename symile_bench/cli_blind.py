"""`build --blind --answer-key FILE` and `finalize --blind ...`: a blind release, composed.

Three layers each do their part, and only this CLI module puts them together (so building
never depends on scoring or on the server):

1. before any work, the request is checked: the builder declares answer columns and the key
   file is outside the dataset directory;
2. between the last shard and the manifest, the answer key of each config's full test split is
   computed from the split's declared task (``leaderboard.answerkey``, on the harness' candidate
   plans), then core rewrites the test shards without their answers (``symile_bench.blind``);
3. the keys, named by the *blind* split fingerprints (what results on the published data name),
   go to FILE: one JSON document written atomically, outside the dataset directory.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from symile_bench.blind import BLIND_SPLIT, blind_split, check_blindable
from symile_bench.builder import BuilderConfig, DatasetBuilder
from symile_bench.errors import ConfigError
from symile_bench.harness.splitdata import split_from_store
from symile_bench.leaderboard.answerkey import answer_key_file_text, answer_key_from_split
from symile_bench.manifest import Manifest
from symile_bench.storage import Store


def blind_request(blind: bool, answer_key: Path | None) -> BlindRelease | None:
    """`--blind` and `--answer-key FILE` come together."""
    if blind and answer_key is None:
        raise ConfigError(
            "--blind needs --answer-key FILE (outside --out): where the test "
            "answers go for the leaderboard operator"
        )
    if answer_key is not None and not blind:
        raise ConfigError("--answer-key is written by blind builds only; add --blind")
    return None if answer_key is None else BlindRelease(answer_key)


@dataclass(frozen=True)
class BlindRelease:
    """The `finish_step` of a blind build (``symile_bench.build.FinishStep``)."""

    answer_key: Path

    def check(self, builder: DatasetBuilder, config: BuilderConfig, store: Store) -> None:
        """Refuse before any work: a builder without answer columns, or a key file that would
        be published with the data."""
        if not builder.answer_columns(config):  # a builder may raise ConfigError with its reason
            raise ConfigError(
                f"--blind: builder {builder.name!r} declares no answer columns "
                "(DatasetBuilder.answer_columns), so it cannot be built blind"
            )
        key = self.answer_key
        if key.is_dir():
            raise ConfigError(f"--answer-key {key} is a directory; give a file path")
        if store.local is not None:
            out, resolved = store.local.resolve(), key.resolve()
            if resolved == out or out in resolved.parents:
                raise ConfigError(
                    f"--answer-key {key} is inside --out {store}: the answers would be "
                    "published with the data; write the key file outside the dataset directory"
                )

    def __call__(
        self, builder: DatasetBuilder, config: BuilderConfig, store: Store, manifest: Manifest
    ) -> Manifest:
        check_blindable(manifest, BLIND_SPLIT)
        keys = {}
        for variant in manifest.variants:
            full = split_from_store(store, manifest, variant, BLIND_SPLIT)
            keys[variant] = answer_key_from_split(full)
            del full  # drop the memory maps before the shards are replaced
        blind = blind_split(builder, config, store, manifest, BLIND_SPLIT)
        named = [
            replace(
                key,
                fingerprint=blind.split(variant, BLIND_SPLIT).fingerprint,
                dataset_fingerprint=blind.fingerprint,
            )
            for variant, key in keys.items()
        ]
        target = self.answer_key.resolve()
        Store(target.parent).write_text(target.name, answer_key_file_text(named, builder.version))
        return blind
