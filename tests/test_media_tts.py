"""Speech for Symile-M3: espeak-ng voices, determinism, engines, gTTS fallback, encoding."""

from __future__ import annotations

import io
import pickle
import re
import subprocess
import time

import numpy as np
import pytest
import soundfile as sf

from symile_bench.audio_codec import audio_duration, decode_audio, encode_audio
from symile_bench.errors import (
    BackendUnavailableError,
    ConfigError,
    MissingDependencyError,
    SourceError,
)
from symile_bench.lexicon.languages import LANGUAGES
from symile_bench.media import espeak as espeak_module
from symile_bench.media.espeak import ESPEAK_VOICES, EspeakTTS, espeak_phonemes
from symile_bench.media.google_tts import GTTSBackend
from symile_bench.media.speech import Clip
from symile_bench.media.tts import choose_tts, make_tts, probe_tts
from symile_bench.media.utterances import number_utterance

# espeak-ng -x marks a switch to another language's rules as "(en)", "(ja)", ...
LANGUAGE_SWITCH = re.compile(r"\([a-z]{2,3}(-[a-z]+)?\)")


@pytest.fixture(scope="module")
def espeak():
    with EspeakTTS() as tts:  # espeak-ng is a declared requirement: missing means failure
        yield tts


# -- utterances -----------------------------------------------------------------------------
def test_number_utterance_shape_and_determinism():
    """2-4 numbers of 1-4 digits, same text for the same generator state, every language."""
    for lang in LANGUAGES:
        a = number_utterance(np.random.default_rng(11), lang)
        assert a == number_utterance(np.random.default_rng(11), lang)
        parts = re.split(r"[,،、，]\s*", a)
        assert 2 <= len(parts) <= 4
        for part in parts:
            digits = part.replace(" ", "")
            assert digits.isdigit() and 1 <= len(digits) <= 4
            assert len(digits) == 1 or digits[0] != "0"
    # Arabic is written digit by digit (espeak-ng 1.51 misreads Arabic numbers >= 10)
    assert all(
        len(p) == 1 for p in re.split(r"[، ]+", number_utterance(np.random.default_rng(1), "ar"))
    )
    with pytest.raises(ConfigError, match="unknown language 'xx'"):
        number_utterance(np.random.default_rng(0), "xx")


# -- voices: phoneme checks -------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGUAGES)
def test_voice_reads_numbers_in_its_own_language(lang):
    """The utterance's phonemes come from the language's own rules: no switch to English."""
    text = number_utterance(np.random.default_rng(5), lang)
    phonemes = espeak_phonemes(text, lang)
    assert phonemes and not LANGUAGE_SWITCH.search(phonemes), phonemes


def test_japanese_reads_kana_and_the_check_catches_kanji():
    """ja reads kana/digits natively; kanji fall back to English ("Chinese letter")."""
    assert not LANGUAGE_SWITCH.search(espeak_phonemes("よんじゅうに", "ja"))
    assert "(en)" in espeak_phonemes("四十二", "ja")  # negative control: the check works


def test_chinese_uses_the_pinyin_voice():
    """zh -> cmn-latn-pinyin: Mandarin tones for digits and hanzi; plain cmn slips into English."""
    assert ESPEAK_VOICES["zh"] == "cmn-latn-pinyin"
    for text in ("42，7", "四十二"):
        phonemes = espeak_phonemes(text, "zh")
        assert not LANGUAGE_SWITCH.search(phonemes)
        assert re.search(r"(51|35|55|214|21)", phonemes)  # tone contours
    plain_cmn = subprocess.run(
        ["espeak-ng", "-q", "-x", "-v", "cmn", "四十二"], capture_output=True, text=True, check=True
    ).stdout
    assert "(en)" in plain_cmn  # why the plain cmn voice is not used


# -- synthesis ----------------------------------------------------------------------------------
def test_all_languages_speak_deterministically(espeak):
    for lang in LANGUAGES:
        text = number_utterance(np.random.default_rng(2), lang)
        a, rate = espeak.samples(text, lang, np.random.default_rng(9))
        b, _ = espeak.samples(text, lang, np.random.default_rng(9))
        assert rate > 0 and a.dtype == np.float32 and a.ndim == 1
        assert a.size > rate // 2  # over half a second of audio
        assert float(np.sqrt(np.mean(a**2))) > 0.01  # not silence
        assert np.array_equal(a, b)
        c, _ = espeak.samples(text, lang, np.random.default_rng(10))
        assert not np.array_equal(a, c)  # another seed, another voice


def test_synthesize_returns_the_encoded_samples(espeak):
    """A Clip is what a build stores: the samples encoded in the backend's format, losslessly
    for FLAC, and with the same generator draws as `samples`."""
    clip = espeak.synthesize("42, 7", "en", np.random.default_rng(3))
    samples, rate = espeak.samples("42, 7", "en", np.random.default_rng(3))
    assert clip == Clip(encode_audio(samples, rate, "flac"), "flac")
    with EspeakTTS(audio_format="mp3") as mp3:
        clip = mp3.synthesize("42, 7", "en", np.random.default_rng(3))
    assert clip.format == "mp3" and clip.data == encode_audio(samples, rate, "mp3")
    with pytest.raises(ConfigError, match="unknown audio format 'aac'"):
        EspeakTTS(audio_format="aac")


def test_clips_do_not_depend_on_history(espeak):
    """The same request 100 times gives the same clip, also after other clips.

    libespeak-ng drifts when one process keeps selecting voices (a different clip came back
    every ~85 requests before the worker forked per clip); CLI and fork-server must not.
    """
    text, lang = "80、169、4", "ja"
    first = espeak.synthesize(text, lang, np.random.default_rng(1))
    for i in range(10):
        espeak.synthesize(
            number_utterance(np.random.default_rng(i), "el"), "el", np.random.default_rng(2)
        )
    for _ in range(100):
        assert espeak.synthesize(text, lang, np.random.default_rng(1)) == first


def test_library_and_cli_engines_give_identical_samples(espeak):
    assert espeak.engine == "library", espeak.engine_note
    cli = EspeakTTS(engine="cli")
    for lang in LANGUAGES:
        text = number_utterance(np.random.default_rng(3), lang)
        a, ra = espeak.samples(text, lang, np.random.default_rng(6))
        b, rb = cli.samples(text, lang, np.random.default_rng(6))
        assert ra == rb and np.array_equal(a, b), lang


def test_library_failure_falls_back_to_cli_or_fails_when_forced(monkeypatch, espeak):
    def broken(*_args, **_kwargs):
        raise OSError("libespeak-ng.so.1: cannot open shared object file")

    monkeypatch.setattr(espeak_module, "EspeakWorker", broken)
    auto = EspeakTTS()
    assert auto.engine == "cli" and "libespeak-ng" in auto.engine_note
    a = auto.synthesize("12, 7", "en", np.random.default_rng(0))
    assert a == espeak.synthesize("12, 7", "en", np.random.default_rng(0))
    with pytest.raises(MissingDependencyError, match="engine='cli'"):
        EspeakTTS(engine="library")


def test_espeak_survives_pickling(espeak):
    """Process pools pickle the backend: the copy restarts its worker and says the same."""
    copy = pickle.loads(pickle.dumps(espeak))
    try:
        a = copy.synthesize("3, 5", "uk", np.random.default_rng(1))
        assert a == espeak.synthesize("3, 5", "uk", np.random.default_rng(1))
    finally:
        copy.close()


def test_missing_espeak_names_the_package(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingDependencyError, match="apt-get install espeak-ng"):
        EspeakTTS()
    with pytest.raises(MissingDependencyError, match="apt-get install espeak-ng"):
        probe_tts("espeak", ["en"])


def test_bad_language_engine_and_backend(espeak):
    with pytest.raises(ConfigError, match="unknown language 'xx'"):
        espeak.synthesize("1, 2", "xx", np.random.default_rng(0))
    with pytest.raises(ConfigError, match="unknown language 'xx'"):
        probe_tts("espeak", ["en", "xx"])
    with pytest.raises(ConfigError, match="unknown espeak engine"):
        EspeakTTS(engine="fast")
    with pytest.raises(ConfigError, match="unknown TTS backend"):
        make_tts("festival")


# -- gTTS and the fallback --------------------------------------------------------------------
@pytest.fixture
def offline(monkeypatch):
    """Force every gTTS request to fail as it does without network (robust even if online)."""
    import requests

    def refuse(*_args, **_kwargs):
        raise requests.exceptions.ConnectionError("network is unreachable (test)")

    monkeypatch.setattr(requests.Session, "send", refuse)
    monkeypatch.setattr(requests.Session, "request", refuse)


def test_gtts_network_failure_is_backend_unavailable(offline):
    with pytest.raises(BackendUnavailableError, match="gTTS is unreachable"):
        GTTSBackend().synthesize("42, 7", "zh", np.random.default_rng(0))
    with pytest.raises(BackendUnavailableError):
        probe_tts("gtts", ["en"])


def test_gtts_hang_times_out(monkeypatch):
    import gtts

    monkeypatch.setattr(gtts.gTTS, "write_to_fp", lambda self, fp: time.sleep(5))
    with pytest.raises(BackendUnavailableError, match="did not answer"):
        GTTSBackend(timeout=0.2).probe()


def test_gtts_offline_falls_back_to_espeak_with_a_warning(offline, espeak):
    warnings: list[str] = []
    assert choose_tts("gtts", ["el"], fallback=True, warn=warnings.append) == "espeak"
    assert len(warnings) == 1 and "falling back to espeak-ng" in warnings[0]
    assert choose_tts("espeak", ["el"], warn=pytest.fail) == "espeak"
    backend = make_tts("espeak")
    assert isinstance(backend, EspeakTTS) and backend.name == "espeak"
    assert backend.synthesize("5, 6", "el", np.random.default_rng(0)).data


def test_gtts_offline_without_fallback_fails(offline):
    with pytest.raises(BackendUnavailableError, match="gTTS is unreachable"):
        choose_tts("gtts", ["en"], fallback=False, warn=pytest.fail)


def test_gtts_not_installed_is_a_missing_dependency(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_gtts(name, *args, **kwargs):
        if name == "gtts" or name.startswith("gtts."):
            raise ImportError("No module named 'gtts'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_gtts)
    with pytest.raises(MissingDependencyError, match=r"symile-bench\[gtts\]"):
        make_tts("gtts")
    with pytest.raises(MissingDependencyError, match=r"symile-bench\[gtts\]"):
        choose_tts("gtts", ["en"], fallback=False)


# -- encoding -------------------------------------------------------------------------------------
def test_flac_round_trip_is_lossless_for_espeak_audio(espeak):
    samples, rate = espeak.samples("7, 19", "en", np.random.default_rng(0))
    data = encode_audio(samples, rate, "flac")
    assert data == encode_audio(samples.copy(), rate, "flac")  # deterministic bytes
    back, back_rate = sf.read(io.BytesIO(data), dtype="float32")
    assert back_rate == rate and np.array_equal(back, samples)  # 16-bit source: exact
    decoded, _ = decode_audio(data)
    assert np.array_equal(decoded, samples)
    assert audio_duration(data) == pytest.approx(samples.size / rate)


def test_encode_audio_formats_and_errors():
    tone = (0.3 * np.sin(np.arange(8000) / 5.0)).astype(np.float32)
    wav = encode_audio(tone, 16000, "wav")
    assert sf.info(io.BytesIO(wav)).format == "WAV"
    mp3 = encode_audio(tone, 16000, "mp3")
    assert audio_duration(mp3) == pytest.approx(0.5, abs=0.1)
    with pytest.raises(ConfigError, match="unknown audio format 'aac'"):
        encode_audio(tone, 16000, "aac")
    with pytest.raises(ConfigError, match="sample rate"):
        encode_audio(tone, 0)


def test_mp3_without_libsndfile_support_names_what_to_install(monkeypatch):
    """A libsndfile older than 1.1 cannot read MP3: decoding says what to install instead of
    calling the clip broken; any other undecodable clip still names the clip."""
    mp3 = encode_audio((0.3 * np.sin(np.arange(8000) / 5.0)).astype(np.float32), 16000, "mp3")

    def no_mp3(*_args, **_kwargs):
        raise RuntimeError("Error opening <_io.BytesIO>: Format not recognised.")

    monkeypatch.setattr(sf, "read", no_mp3)
    monkeypatch.setattr(sf, "available_formats", lambda: {"WAV": "", "FLAC": "", "OGG": ""})
    with pytest.raises(MissingDependencyError, match=r"libsndfile >= 1\.1"):
        decode_audio(mp3, name="clip en-00001.mp3")
    with pytest.raises(SourceError, match=r"cannot decode clip x\.flac"):
        decode_audio(b"fLaC" + bytes(40), name="clip x.flac")
