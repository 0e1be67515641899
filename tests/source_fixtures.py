"""Tiny copies of the real sources, written in their real on-disk layouts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from symile_bench.audio_codec import audio_duration
from symile_bench.media.espeak import EspeakTTS
from symile_bench.media.utterances import number_utterance

#: (cls_id, synset_id, English name as the release spells it, en word, el word)
CLASSES = [
    (0, "n01440764", "tench", "tench", "γλήνι"),
    (1, "n01443537", "goldfish", "goldfish", "χρυσόψαρο"),
    (134, "n02012849", "crane bird", "crane bird", "γερανός πουλί"),
    (517, "n03126707", "crane machine", "crane machine", "γερανός μηχάνημα"),
    (639, "n03710721", "swimsuit", "swimsuit", "μαγιό"),
    (954, "n07753592", "banana", "banana", "μπανάνα"),
]


def write_translations_json(path: Path, drop: tuple[str, int] | None = None) -> Path:
    """The release's format; `drop=(language, cls_id)` removes one word to make a gap."""
    entries = {}
    for cls_id, synset, name, en, el in CLASSES:
        entry = {"synset_id": synset, "cls_id": cls_id, "en": en, "el": el}
        if drop and drop[1] == cls_id:
            del entry[drop[0]]
        entries[name] = entry
    path.write_text(json.dumps(entries, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def write_ilsvrc(root: Path, images_per_class: int = 3, skip: str | None = None) -> Path:
    """ILSVRC/Data/CLS-LOC/train/<wnid>/<wnid>_<n>.JPEG, one flat colour per class."""
    rng = np.random.default_rng(0)
    for _, synset, *_ in CLASSES:
        if synset == skip:
            continue
        folder = root / "ILSVRC" / "Data" / "CLS-LOC" / "train" / synset
        folder.mkdir(parents=True)
        for i in range(images_per_class):
            pixels = rng.integers(0, 255, size=(60, 80, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{synset}_{i + 1}.JPEG", quality=80)
    return root


def write_common_voice(root: Path, languages: dict[str, str], clips: int = 4) -> Path:
    """<locale>/clips/*.mp3 + validated.tsv + clip_durations.tsv (one zero-duration row)."""
    tts = EspeakTTS(audio_format="mp3")
    rng = np.random.default_rng(0)
    header = (
        "client_id\tpath\tsentence_id\tsentence\tsentence_domain\tup_votes\tdown_votes"
        "\tage\tgender\taccents\tvariant\tlocale\tsegment"
    )
    for lang, locale in languages.items():
        folder = root / locale
        (folder / "clips").mkdir(parents=True)
        rows, durations = [header], ["clip\tduration[ms]"]
        for i in range(clips + 1):
            name = f"common_voice_{locale}_{i}.mp3"
            clip = tts.synthesize(number_utterance(rng, lang), lang, rng)
            (folder / "clips" / name).write_bytes(clip.data)
            rows.append(f"abc{i}\t{name}\ts{i}\tsentence {i}\t\t2\t0\t\t\t\t\t{locale}\t")
            # the last clip is listed with zero duration: Common Voice readers must drop it
            durations.append(
                f"{name}\t{0 if i == clips else int(audio_duration(clip.data) * 1000)}"
            )
        (folder / "validated.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        (folder / "clip_durations.tsv").write_text("\n".join(durations) + "\n", encoding="utf-8")
    return root
