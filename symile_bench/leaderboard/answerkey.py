"""The answer key of one registered split, stored in the database at ``leaderboard add`` time so
the server never needs the dataset directory afterwards.

Every candidate rule reduces to labels: a candidate is correct for a query when their labels
are equal. Shared pools (XOR, M3) keep the plan's labels; per-query candidate sets (MIMIC) use
each candidate's own id as its label and the query's own candidate id as the query's label.
Re-scoring rebuilds a shared ``CandidatePlan`` from the stored arrays and asks its
``is_correct`` — the same code the harness scores with, so the two cannot disagree.
"""

from __future__ import annotations

import base64
import io
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from symile_bench.harness.candidates import SharedPool
from symile_bench.harness.splitdata import SplitData, open_split
from symile_bench.harness.tasks import ResolvedTask, resolve
from symile_bench.leaderboard.errors import LeaderboardError
from symile_bench.tasks import ReferenceLevel


@dataclass(frozen=True)
class AnswerKey:
    query_ids: np.ndarray  # [N] int64, sorted ascending
    query_labels: np.ndarray  # [N] label of each query (same order)
    candidate_ids: np.ndarray  # [M] int64, sorted ascending
    candidate_labels: np.ndarray  # [M]

    def plan(self) -> SharedPool:
        return SharedPool(
            ids=self.candidate_ids,
            rows=None,
            values=None,
            correct_when="label match",
            description="answer key",
            query_labels=self.query_labels,
            labels=self.candidate_labels,
        )

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            query_ids=self.query_ids,
            query_labels=self.query_labels,
            candidate_ids=self.candidate_ids,
            candidate_labels=self.candidate_labels,
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> AnswerKey:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return cls(z["query_ids"], z["query_labels"], z["candidate_ids"], z["candidate_labels"])


@dataclass(frozen=True)
class SplitKey:
    """What ``add`` registers: the split's identity, its task and its answer key."""

    builder: str
    config: str
    split: str
    fingerprint: str
    dataset_fingerprint: str
    task: str
    target: str
    rule: str
    key: AnswerKey
    description: dict[str, Any] = field(default_factory=dict)  # see ``describe``

    @property
    def default_name(self) -> str:
        """BUILDER[-LABEL]-CONFIG-SPLIT: the label (the builder's, e.g. M3's 'w5-en.el.hi.ja.uk')
        tells builds of one builder apart, whose config names (M3: 'complete') may not."""
        parts = (self.builder, self.description.get("label"), self.config, self.split)
        return "-".join(str(p) for p in parts if p)


def describe(data: SplitData, resolved: ResolvedTask, card: str | None) -> dict[str, Any]:
    """What a reader of the board needs besides the scores, from the manifest: the build
    (builder version, label, seed, config), the task, the levels to compare a row with
    (chance, and what the task declares, e.g. M3's CLIP ceiling 1/w; only for the declared
    target, as in results) and the dataset card's text."""
    m, task = data.manifest, resolved.task
    levels: list[ReferenceLevel] = []
    if resolved.target.name == task.target:
        chance = ReferenceLevel(
            name="chance", value=task.chance, label=f"chance {task.chance_label}"
        )
        levels = [chance, *task.references]
    return {
        "builder_version": m.builder_version,
        "label": m.label,
        "seed": m.seed,
        "build_config": m.config,
        # A build from synthetic sources (MIMIC from fake-mimic) must never pass for the real
        # benchmark: the pages put this first.
        "synthetic": m.config.get("synthetic") is True,
        "task": task.description,
        "levels": [level.model_dump(mode="json") for level in levels],
        "card": card,
    }


def _description_from_file(found: Any) -> dict[str, Any]:
    """A key file's description (absent in files of older versions: {}); its levels are
    checked, since the pages draw them."""
    if not isinstance(found, dict):
        return {}
    levels = [ReferenceLevel.model_validate(level) for level in found.get("levels") or []]
    return {**found, "levels": [level.model_dump(mode="json") for level in levels]}


def answer_key_from_dataset(
    path: Path,
    split: str = "test",
    config: str | None = None,
    target: str | None = None,
    rule: str | None = None,
) -> SplitKey:
    """Rebuild the task's candidate plan from a full (non-blind) dataset directory and keep
    only what scoring needs."""
    data = open_split(Path(path), config, split)
    if data.withheld:
        raise LeaderboardError(
            f"{path}: config '{data.config}' split '{split}' is blind (its answers are "
            "withheld); register it from the build's answer-key file: symile-bench leaderboard "
            "add --answer-key FILE"
        )
    card = Path(path) / "README.md"
    return answer_key_from_split(
        data, target, rule, card.read_text("utf-8") if card.is_file() else None
    )


def answer_key_from_split(
    data: SplitData, target: str | None = None, rule: str | None = None, card: str | None = None
) -> SplitKey:
    """The answer key of one full split (see ``answer_key_from_dataset``), described by
    ``describe`` (``card``: the text of the dataset's README.md, if at hand)."""
    path, split = data.path, data.split
    resolved = resolve(data.manifest, target=target, candidates=rule, where=str(path))
    plan = resolved.rule.plan(data, resolved.target)
    qids = data.numpy(resolved.task.query_id)
    if qids.dtype.kind not in "iu" or plan.ids.dtype.kind not in "iu":
        raise LeaderboardError(f"{path}: only integer query and candidate ids can be registered")
    cand_labels, q_labels = plan.answer_labels()
    q_order = np.argsort(qids, kind="stable")
    c_order = np.argsort(plan.ids, kind="stable")
    key = AnswerKey(
        qids[q_order].astype(np.int64),
        np.asarray(q_labels)[q_order].astype(np.int64),
        plan.ids[c_order].astype(np.int64),
        np.asarray(cand_labels)[c_order].astype(np.int64),
    )
    if len(key.query_ids) and (key.query_ids[1:] == key.query_ids[:-1]).any():
        raise LeaderboardError(f"{path}: split {split!r} repeats a query id")
    return SplitKey(
        data.builder,
        data.config,
        split,
        data.fingerprint,
        data.manifest.fingerprint,
        resolved.task.name,
        resolved.target.name,
        resolved.rule.name,
        key,
        describe(data, resolved, card),
    )


# -- the answer-key file of a blind build (`symile-bench build --blind --answer-key FILE`) -------
KEY_FILE_FORMAT = "symile-bench-answer-key"
KEY_FILE_VERSION = 1
_ARRAYS = ("query_ids", "query_labels", "candidate_ids", "candidate_labels")


def _pack(a: np.ndarray) -> str:
    return base64.b64encode(zlib.compress(np.ascontiguousarray(a, "<i8").tobytes(), 9)).decode()


def _unpack(text: str) -> np.ndarray:
    return np.frombuffer(zlib.decompress(base64.b64decode(text, validate=True)), "<i8").astype(
        np.int64
    )


def answer_key_file_text(keys: list[SplitKey], builder_version: str) -> str:
    """One JSON document (deterministic: same keys, same bytes) holding every key of a blind
    build; the arrays are little-endian int64, zlib-compressed, base64-encoded."""
    doc = {
        "format": KEY_FILE_FORMAT,
        "version": KEY_FILE_VERSION,
        "builder": keys[0].builder,
        "builder_version": builder_version,
        "dataset_fingerprint": keys[0].dataset_fingerprint,
        "keys": [
            {
                "config": k.config,
                "split": k.split,
                "fingerprint": k.fingerprint,
                "task": k.task,
                "target": k.target,
                "rule": k.rule,
                "n_queries": len(k.key.query_ids),
                "n_candidates": len(k.key.candidate_ids),
                "description": k.description,
                **{name: _pack(getattr(k.key, name)) for name in _ARRAYS},
            }
            for k in keys
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def read_answer_key_file(
    path: Path, config: str | None = None, split: str | None = None
) -> SplitKey:
    """The key of ``config`` (default: the file's first) and ``split`` from an answer-key file;
    every problem is one line naming the file."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise LeaderboardError(f"--answer-key {path}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise LeaderboardError(f"--answer-key {path}: not an answer-key file ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != KEY_FILE_FORMAT:
        raise LeaderboardError(
            f"--answer-key {path}: not an answer-key file (written by "
            "`symile-bench build --blind --answer-key FILE`)"
        )
    if doc.get("version") != KEY_FILE_VERSION:
        raise LeaderboardError(
            f"--answer-key {path}: version {doc.get('version')!r} is not "
            f"supported (this symile-bench reads {KEY_FILE_VERSION})"
        )
    entries = [e for e in doc.get("keys") or [] if isinstance(e, dict)]
    have = ", ".join(f"{e.get('config')}/{e.get('split')}" for e in entries) or "nothing"
    wanted = config or (entries[0].get("config") if entries else None)
    chosen = [e for e in entries if e.get("config") == wanted and split in (None, e.get("split"))]
    if not chosen:
        where = f"config {wanted!r}" + (f" split {split!r}" if split else "")
        raise LeaderboardError(f"--answer-key {path} holds no key for {where} (it has: {have})")
    entry = chosen[0]
    try:
        key = AnswerKey(*(_unpack(entry[name]) for name in _ARRAYS))
        sk = SplitKey(
            doc["builder"],
            entry["config"],
            entry["split"],
            entry["fingerprint"],
            doc["dataset_fingerprint"],
            entry["task"],
            entry["target"],
            entry["rule"],
            key,
            _description_from_file(entry.get("description")),
        )
    except (KeyError, TypeError, ValueError, zlib.error) as err:
        raise LeaderboardError(
            f"--answer-key {path}: damaged entry for config {wanted!r} "
            f"({type(err).__name__}: {err})"
        ) from None
    n = len(key.query_ids)
    if (
        n != entry.get("n_queries")
        or len(key.query_labels) != n
        or len(key.candidate_ids) != len(key.candidate_labels)
        or not len(key.candidate_ids)
        or (np.diff(key.query_ids) <= 0).any()
        or (np.diff(key.candidate_ids) <= 0).any()
    ):
        raise LeaderboardError(
            f"--answer-key {path}: damaged entry for config {wanted!r} "
            "(array lengths or order do not match its header)"
        )
    return sk
