"""The ImageNet-1k class table: cls_id <-> WordNet ID <-> lemmas, shipped as package data.

Why it is here: a class is identified everywhere in the project by its standard ImageNet-1k index
(``cls_id``, the position of its WordNet ID among the 1,000 sorted IDs), while ImageNet's folders
and most lexicons name classes by WordNet ID. Sources that carry only indices (Babel-ImageNet)
get their synset IDs and English names from this table, and readers use it to flag a file whose
cls_id and synset_id disagree.

``imagenet1k_classes.tsv`` lists ``cls_id``, ``synset_id`` and the WordNet 3.0 lemmas of each
class (the text of ImageNet's ``LOC_synset_mapping.txt``). Checked against public copies of Keras'
``imagenet_class_index.json`` (e.g. 0 n01440764 tench, 134 n02012849 crane, 517 n03126707 crane).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources

NUM_CLASSES = 1000

# The Symile-M3 release names each class by the first lemma of its synset and renames the three
# whose first lemma repeats (source_data.py in the release code), so English names are unique.
RELEASE_RENAMES: dict[str, str] = {
    "n02012849": "crane bird",
    "n03126707": "crane machine",
    "n03710721": "swimsuit",
}


@dataclass(frozen=True)
class ImageNetClasses:
    """The 1,000 classes in standard order; index i is cls_id i."""

    synset_ids: tuple[str, ...]
    lemmas: tuple[str, ...]

    @cached_property
    def index(self) -> dict[str, int]:
        """WordNet ID -> cls_id."""
        return {s: i for i, s in enumerate(self.synset_ids)}

    @cached_property
    def release_names(self) -> tuple[str, ...]:
        """English class names as the Symile-M3 release spells them (first lemma, 3 renamed)."""
        return tuple(
            RELEASE_RENAMES.get(s, lem.split(",")[0].strip())
            for s, lem in zip(self.synset_ids, self.lemmas, strict=True)
        )


@lru_cache(maxsize=1)
def imagenet1k_classes() -> ImageNetClasses:
    """Load the packaged ImageNet-1k class table (cached)."""
    text = resources.files(__package__).joinpath("imagenet1k_classes.tsv").read_text("utf-8")
    synsets: list[str] = []
    lemmas: list[str] = []
    header_seen = False
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        cells = line.split("\t")
        if not header_seen:
            header_seen = True
            continue
        cls_id, synset, lemma = cells
        if int(cls_id) != len(synsets):  # pragma: no cover - guards the shipped file
            raise RuntimeError("imagenet1k_classes.tsv is out of order; reinstall symile-bench")
        synsets.append(synset)
        lemmas.append(lemma)
    if len(synsets) != NUM_CLASSES:  # pragma: no cover - guards the shipped file
        raise RuntimeError(
            "imagenet1k_classes.tsv does not list 1,000 classes; reinstall symile-bench"
        )
    return ImageNetClasses(tuple(synsets), tuple(lemmas))


def imagenet1k_synset_ids() -> tuple[str, ...]:
    """The 1,000 ImageNet-1k WordNet IDs; position = cls_id."""
    return imagenet1k_classes().synset_ids


def imagenet1k_names() -> tuple[str, ...]:
    """English names of the 1,000 classes as the Symile-M3 release spells them (by cls_id)."""
    return imagenet1k_classes().release_names
