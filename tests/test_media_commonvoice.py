"""Common Voice reader on a tiny release tree in the real layout, with real MP3 clips."""

from __future__ import annotations

import numpy as np
import pytest

from symile_bench.audio_codec import audio_duration, encode_audio
from symile_bench.errors import ConfigError, SourceError
from symile_bench.media.commonvoice import COMMON_VOICE_LOCALES, CommonVoiceSource

# Columns of validated.tsv in recent releases (Common Voice 17+; older ones lack sentence_id /
# sentence_domain and spell accents as "accent"): only "path" is needed.
COLUMNS = [
    "client_id",
    "path",
    "sentence_id",
    "sentence",
    "sentence_domain",
    "up_votes",
    "down_votes",
    "age",
    "gender",
    "accents",
    "variant",
    "locale",
    "segment",
]


def _mp3(seconds: float, freq: float = 220.0) -> bytes:
    rate = 16000
    t = np.arange(int(rate * seconds)) / rate
    return encode_audio((0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate, "mp3")


def _row(locale: str, path: str, sentence: str) -> str:
    values = ["c0ffee", path, "s1", sentence, "", "2", "0", "twenties", "", "", "", locale, ""]
    return "\t".join(values)


def _locale(root, locale, clips, *, table="validated.tsv", durations=None, extra_rows=()):
    folder = root / locale
    (folder / "clips").mkdir(parents=True)
    for name, data in clips.items():
        (folder / "clips" / name).write_bytes(data)
    rows = [_row(locale, name, 'He said "hello" and left') for name in clips]
    rows += [_row(locale, name, "x") for name in extra_rows]
    (folder / table).write_text("\t".join(COLUMNS) + "\n" + "\n".join(rows) + "\n")
    if durations is not None:
        lines = "".join(f"{clip}\t{ms}\n" for clip, ms in durations.items())
        (folder / "clip_durations.tsv").write_text("clip\tduration[ms]\n" + lines)
    return folder


@pytest.fixture
def corpus(tmp_path):
    """en: a good clip, a zero-duration clip, an empty file, a row without a file; zh-CN."""
    root = tmp_path / "cv-corpus-17.0-2024-03-15"
    en = {
        "common_voice_en_3.mp3": _mp3(0.6),
        "common_voice_en_1.mp3": _mp3(0.4, 330.0),
        "common_voice_en_2.mp3": _mp3(0.3),  # listed with 0 ms: dropped
        "common_voice_en_4.mp3": b"",  # empty file: dropped
    }
    _locale(
        root,
        "en",
        en,
        extra_rows=["common_voice_en_9.mp3"],  # no such file: dropped
        durations={
            "common_voice_en_1.mp3": 400,
            "common_voice_en_2.mp3": 0,
            "common_voice_en_3.mp3": 600,
            "common_voice_en_4.mp3": 100,
        },
    )
    _locale(root, "zh-CN", {"common_voice_zh-CN_7.mp3": _mp3(0.5)}, table="train.tsv")
    return root


def test_clips_load_drop_unusable_and_sort(corpus):
    source = CommonVoiceSource(corpus)
    clips = source.clips("en")
    assert [c.name for c in clips] == ["common_voice_en_1.mp3", "common_voice_en_3.mp3"]
    assert all(c.parent == corpus / "en" / "clips" for c in clips)
    assert audio_duration(clips[1].read_bytes()) == pytest.approx(0.6, abs=0.1)


def test_chinese_maps_to_zh_cn_and_train_tsv_is_accepted(corpus):
    assert COMMON_VOICE_LOCALES["zh"] == "zh-CN"
    clips = CommonVoiceSource(corpus).clips("zh")
    assert [c.name for c in clips] == ["common_voice_zh-CN_7.mp3"]


def test_missing_locale_names_the_folder_and_the_fix(corpus):
    with pytest.raises(SourceError) as err:
        CommonVoiceSource(corpus).clips("el")
    message = str(err.value)
    assert str(corpus / "el") in message and "cv-corpus-*-el.tar.gz" in message


def test_missing_table_column_and_root(corpus, tmp_path):
    (corpus / "en" / "validated.tsv").unlink()
    with pytest.raises(SourceError, match=r"validated\.tsv or train\.tsv"):
        CommonVoiceSource(corpus).clips("en")
    (corpus / "en" / "validated.tsv").write_text("client_id\tfile\nabc\tx.mp3\n")
    with pytest.raises(SourceError, match="no column 'path'"):
        CommonVoiceSource(corpus).clips("en")
    with pytest.raises(SourceError, match="does not exist"):
        CommonVoiceSource(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="unknown language"):
        CommonVoiceSource(corpus).clips("fr")
