"""The Symile-M3 retrieval task, declared once for every dataset of that shape: our builds and
the imported releases (`builders.m3.build.release`) are scored by the same definition."""

from __future__ import annotations

from symile_bench.tasks import CandidateRuleSpec, ModalitySpec, ReferenceLevel, RetrievalTask


def m3_task(
    n_classes: int,
    n_words: int,
    *,
    audio_meta: tuple[str, ...] = ("lang",),
    image_meta: tuple[str, ...] = ("cls_id",),
    with_missing: bool = False,
    ids: bool = False,
    pools: tuple[str, str] | None = None,
) -> RetrievalTask:
    """Rank the split's images for (audio, text); any image of the query's class counts.
    A pairwise model sees (audio, image) and (text, image) separately, so it can at best
    narrow the class to the w words of the text: its ceiling is 1/w. `with_missing`: the
    dataset has `<modality>_missing` flag columns; `ids`: `audio_id` and `image_id` name each
    distinct clip and image (the harness encodes each once); `pools`: the (audio, image)
    pools that hold the media of a pooled build."""

    def flag(modality: str) -> str | None:
        return f"{modality}_missing" if with_missing else None

    by_class = {"label": "cls_id"}
    return RetrievalTask(
        name="m3",
        description="predict the image's class from (audio, text) among the split's images",
        modalities=(
            ModalitySpec(
                name="audio",
                kind="audio",
                columns=("audio",),
                meta=audio_meta,
                missing_column=flag("audio"),
                id_column="audio_id" if ids else None,
                pool=pools[0] if pools else None,
            ),
            ModalitySpec(
                name="image",
                kind="image",
                columns=("image",),
                meta=image_meta,
                missing_column=flag("image"),
                id_column="image_id" if ids else None,
                pool=pools[1] if pools else None,
            ),
            ModalitySpec(name="text", kind="text", columns=("text",), missing_column=flag("text")),
        ),
        target="image",
        candidates=(
            CandidateRuleSpec(name="all", kind="split-rows", params=by_class),
            CandidateRuleSpec(
                name="per-class", kind="split-rows", params={**by_class, "one_per_label": True}
            ),
        ),
        group_by="lang",
        chance=1 / n_classes,
        chance_label=f"1/{n_classes}",
        references=(
            ReferenceLevel(
                name="pairwise ceiling", value=1 / n_words, label=f"CLIP ceiling 1/w = 1/{n_words}"
            ),
        ),
    )
