"""Images for Symile-M3: emoji and procedural renderings, encoding, and the ImageNet reader."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from symile_bench.errors import ConfigError, MissingDependencyError, SourceError
from symile_bench.media import emoji, procedural
from symile_bench.media.emoji import emoji_font_path, render_emoji_image
from symile_bench.media.imagenet import ImageNetSource
from symile_bench.media.images import encode_image
from symile_bench.media.procedural import PROCEDURAL_CLASSES, render_procedural_image


def _digest(img: Image.Image) -> str:
    return hashlib.sha256(encode_image(img, "png")).hexdigest()


@pytest.fixture
def emoji_font():
    return emoji_font_path()  # a declared requirement (scripts/install.sh): missing = failure


# -- emoji ---------------------------------------------------------------------------------
def test_emoji_images_repeat_for_a_seed_and_differ_otherwise(emoji_font):
    """Same generator state -> same bytes; other seeds and later draws -> other images."""
    a = render_emoji_image("🐶", np.random.default_rng(7))
    b = render_emoji_image("🐶", np.random.default_rng(7))
    assert a.mode == "RGB" and a.size == (224, 224)
    assert _digest(a) == _digest(b)

    rng = np.random.default_rng(7)
    series = [_digest(render_emoji_image("🐶", rng)) for _ in range(20)]
    assert len(set(series)) == 20  # no two images of a class alike
    assert _digest(render_emoji_image("🐶", np.random.default_rng(8))) != series[0]


def test_emoji_image_shows_the_emoji(emoji_font):
    """Colourful glyph pixels really land in the image (not a blank background)."""
    img = render_emoji_image("🍎", np.random.default_rng(0), size=64)
    assert img.size == (64, 64)
    arr = np.asarray(img, np.int16)
    # Noto's apple is saturated red: some pixels must have R well above G and B.
    assert ((arr[..., 0] - arr[..., 1] > 80) & (arr[..., 0] - arr[..., 2] > 80)).sum() > 50


def test_emoji_without_glyph_is_a_config_error(emoji_font):
    with pytest.raises(ConfigError, match="no glyph"):
        render_emoji_image("a", np.random.default_rng(0))


def test_missing_font_names_the_package(monkeypatch, tmp_path):
    """No Debian font file and fontconfig knows no such family -> install hint."""
    monkeypatch.delenv(emoji.FONT_ENV, raising=False)
    monkeypatch.setattr(emoji, "_DEBIAN_FONT", tmp_path / "NotoColorEmoji.ttf")
    monkeypatch.setattr(emoji, "_fc_match", lambda: None)
    with pytest.raises(MissingDependencyError, match="apt-get install fonts-noto-color-emoji"):
        emoji_font_path()
    with pytest.raises(MissingDependencyError, match="--images procedural"):
        render_emoji_image("🐶", np.random.default_rng(0))


def test_font_override_must_exist(monkeypatch, tmp_path):
    monkeypatch.setenv(emoji.FONT_ENV, str(tmp_path / "nope.ttf"))
    with pytest.raises(MissingDependencyError, match=emoji.FONT_ENV):
        emoji_font_path()


# -- procedural -----------------------------------------------------------------------------
def test_procedural_classes_are_all_distinct():
    """The 1,000 canonical class glyphs differ clearly even at 32 x 32 (min RMS > 0.03)."""
    glyphs = np.stack(
        [
            np.asarray(
                procedural._procedural_glyph(c).resize((32, 32), Image.Resampling.BILINEAR),
                np.float32,
            ).ravel()
            / 255.0
            for c in range(PROCEDURAL_CLASSES)
        ]
    )
    sq = (glyphs**2).sum(1)
    dist = sq[:, None] + sq[None, :] - 2.0 * glyphs @ glyphs.T
    np.fill_diagonal(dist, np.inf)
    rms = np.sqrt(np.maximum(dist, 0.0) / glyphs.shape[1])
    assert rms.min() > 0.03


def test_procedural_images_repeat_for_a_seed_and_vary():
    a = render_procedural_image(123, np.random.default_rng(3), size=96)
    b = render_procedural_image(123, np.random.default_rng(3), size=96)
    c = render_procedural_image(124, np.random.default_rng(3), size=96)
    assert a.mode == "RGB" and a.size == (96, 96)
    assert _digest(a) == _digest(b) != _digest(c)
    rng = np.random.default_rng(3)
    assert len({_digest(render_procedural_image(5, rng, size=64)) for _ in range(10)}) == 10


@pytest.mark.parametrize("index", [-1, PROCEDURAL_CLASSES])
def test_procedural_class_out_of_range(index):
    with pytest.raises(ConfigError, match="procedural class index"):
        render_procedural_image(index, np.random.default_rng(0))


# -- encoding -------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_encode_image_round_trips_and_is_deterministic(fmt):
    img = render_procedural_image(42, np.random.default_rng(0), size=48)
    data = encode_image(img, fmt)
    assert data == encode_image(img.copy(), fmt)
    back = Image.open(io.BytesIO(data))
    assert back.format == {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[fmt]
    assert back.size == (48, 48)
    if fmt == "png":
        assert np.array_equal(np.asarray(back.convert("RGB")), np.asarray(img))


def test_encode_image_unknown_format():
    with pytest.raises(ConfigError, match="unknown image format 'bmp'"):
        encode_image(Image.new("RGB", (4, 4)), "bmp")


# -- ImageNet -------------------------------------------------------------------------------
def _jpeg(path, size, mode="RGB", colour=(200, 30, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    fill = colour if mode == "RGB" else (colour[0] if mode == "L" else (0, 200, 200, 0))
    Image.new(mode, size, fill).save(path, "JPEG", quality=90)


@pytest.fixture
def ilsvrc(tmp_path):
    """A tiny ILSVRC-2012 extraction: ILSVRC/Data/CLS-LOC/train/<wnid>/<wnid>_<n>.JPEG."""
    train = tmp_path / "ILSVRC" / "Data" / "CLS-LOC" / "train"
    _jpeg(train / "n01440764" / "n01440764_10026.JPEG", (500, 375))  # landscape
    _jpeg(train / "n01440764" / "n01440764_10027.JPEG", (300, 400))  # portrait
    _jpeg(train / "n01440764" / "n01440764_1.JPEG", (64, 80), mode="L")  # greyscale
    _jpeg(train / "n01443537" / "n01443537_2.JPEG", (120, 90), mode="CMYK")  # CMYK exists too
    (train / "n01484850").mkdir()  # empty class folder
    return tmp_path


def test_imagenet_source_loads_real_layout(ilsvrc):
    source = ImageNetSource(ilsvrc)
    source.require(["n01440764", "n01443537"])
    files = source.files("n01440764")
    assert [f.name for f in files] == sorted(f.name for f in files)
    assert len(files) == 3
    for path in [*files, *source.files("n01443537")]:
        img = source.load(path, 56)
        assert img.mode == "RGB" and img.size == (56, 56)
    # root may also be the train/ folder itself
    direct = ImageNetSource(ilsvrc / "ILSVRC" / "Data" / "CLS-LOC" / "train")
    assert direct.files("n01440764") == files


def test_imagenet_require_names_first_missing_wnid(ilsvrc):
    source = ImageNetSource(ilsvrc)
    with pytest.raises(SourceError) as err:
        source.require(["n01440764", "n09999999", "n08888888"])
    message = str(err.value)
    assert "n09999999" in message and "n08888888" not in message
    assert "ILSVRC/Data/CLS-LOC/train" in message
    with pytest.raises(SourceError, match=r"n01484850 has no \.JPEG"):
        source.require(["n01484850"])


def test_imagenet_bad_root_and_corrupt_file(tmp_path, ilsvrc):
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(SourceError, match="ILSVRC/Data/CLS-LOC/train"):
        ImageNetSource(tmp_path / "elsewhere")
    with pytest.raises(SourceError, match="does not exist"):
        ImageNetSource(tmp_path / "missing")
    bad = ilsvrc / "ILSVRC" / "Data" / "CLS-LOC" / "train" / "n01443537" / "bad.JPEG"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(SourceError, match=r"bad\.JPEG"):
        ImageNetSource.load(bad, 32)
