"""Earcons rendered and measured; the committed default pack; pack validation errors."""

import json
import os
import shutil

import numpy as np
import pytest

from benchmarks.earcon_metrics import contour, min_pairwise_distance
from conftest import ROOT
from fer_audio.sound.earcons import (
    CUE_NAMES,
    HEAD_CUES,
    MAX_CUE_SECONDS,
    PEAK_DBFS,
    SAMPLE_RATE,
    default_cues,
)
from fer_audio.sound.soundpack import SoundPack, SoundPackError, load_pack, write_pack
from fer_audio.sound.wavio import read_wav, write_wav


def test_every_cue_is_short_clean_and_matched():
    cues = default_cues()
    assert tuple(cues) == CUE_NAMES
    rms = []
    for name, x in cues.items():
        assert x.dtype == np.float32 and x.ndim == 1
        assert 0.05 <= len(x) / SAMPLE_RATE <= MAX_CUE_SECONDS, name
        assert 20 * np.log10(np.abs(x).max()) <= PEAK_DBFS + 1e-3, name
        assert abs(float(x.mean())) < 1e-3, name  # no DC offset
        assert abs(x[0]) < 1e-3 and abs(x[-1]) < 1e-3, name  # faded: no click at either end
        rms.append(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
    assert max(rms) / min(rms) < 1.01  # loudness matched


def test_the_seven_emotions_are_distinct():
    emotions = {k: v for k, v in default_cues().items() if k in CUE_NAMES[:7]}
    distance, pair = min_pairwise_distance(emotions)
    assert distance > 5.0, pair


def test_the_head_cues_are_distinct_from_the_emotions_and_from_each_other():
    cues = default_cues()
    for head in HEAD_CUES:
        pair = {k: v for k, v in cues.items() if k in CUE_NAMES[:7] or k == head}
        distance, nearest = min_pairwise_distance(pair)
        assert distance > 5.0, nearest
    distance, pair = min_pairwise_distance({k: cues[k] for k in HEAD_CUES})
    assert distance > 5.0, pair


def test_a_pack_without_head_cues_still_loads_with_the_default_ones(tmp_path):
    write_pack(SoundPack.default(), tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    for cue in HEAD_CUES:
        del manifest["cues"][cue]
        (tmp_path / f"{cue}.wav").unlink()
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    pack = load_pack(tmp_path)
    for cue in HEAD_CUES:
        np.testing.assert_array_equal(pack.cues[cue], default_cues()[cue])


def test_contours_rise_for_happy_and_surprise_and_fall_for_sad():
    def pitch_trend(x):
        c = contour(x)[: len(contour(x)) // 2]
        voiced = c[c > 0]
        return voiced[-1] - voiced[0]

    cues = default_cues()
    assert pitch_trend(cues["happy"]) > 0 and pitch_trend(cues["surprise"]) > 0
    assert pitch_trend(cues["sad"]) < 0


def test_committed_default_pack_is_what_the_code_synthesises():
    pack = load_pack(ROOT / "sounds" / "default")
    for name, x in default_cues().items():
        np.testing.assert_allclose(pack.cues[name], x, atol=1.5 / 32768)


def test_a_user_pack_is_validated_and_resampled(tmp_path):
    write_pack(SoundPack.default(), tmp_path / "mine")
    happy = default_cues()["happy"]
    write_wav(
        tmp_path / "mine" / "happy.wav",
        np.interp(np.arange(0, len(happy), 2.0), np.arange(len(happy)), happy),
        SAMPLE_RATE // 2,
    )
    pack = load_pack(tmp_path / "mine")
    assert abs(len(pack.cues["happy"]) - len(happy)) <= 2

    broken = tmp_path / "broken"
    shutil.copytree(tmp_path / "mine", broken)
    manifest = json.loads((broken / "manifest.json").read_text())
    del manifest["cues"]["fear"]
    (broken / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SoundPackError, match=r"missing cue.*fear"):
        load_pack(broken)
    manifest["cues"]["fear"] = "fear.wav"
    (broken / "manifest.json").write_text(json.dumps(manifest))
    (broken / "sad.wav").write_bytes(b"RIFF....not audio")
    with pytest.raises(SoundPackError, match=r"cue 'sad'.*unreadable"):
        load_pack(broken)
    write_wav(broken / "sad.wav", np.zeros(SAMPLE_RATE), SAMPLE_RATE)
    with pytest.raises(SoundPackError, match=r"lasts 1\.00 s"):
        load_pack(broken)
    (broken / "sad.wav").unlink()
    with pytest.raises(SoundPackError, match=r"sad\.wav not found"):
        load_pack(broken)
    with pytest.raises(SoundPackError, match=r"no manifest\.json"):
        load_pack(tmp_path)


def test_wav_round_trip(tmp_path):
    x = (np.sin(np.arange(1000) / 10) * 0.5).astype(np.float32)
    write_wav(tmp_path / "a.wav", np.stack([x, -x], 1), 22050)
    y, rate = read_wav(tmp_path / "a.wav")
    assert rate == 22050 and y.shape == (1000, 2)
    np.testing.assert_allclose(y[:, 0], x, atol=1 / 32768)


def test_no_speech_folder_is_left_behind_and_the_phrase_cache_is_bounded(tmp_path):
    import subprocess
    import sys

    from fer_audio.sound.speech import Speaker, SpeechOptions

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    out = tmp_path / "cues.wav"
    r = subprocess.run(
        [sys.executable, "-m", "fer_audio", "sounds", "preview", "--audio-out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert out.is_file() and not list(tmp.glob("fer-audio-tts-*"))
    with Speaker(SpeechOptions(cache_phrases=2)) as speaker:
        for word in ("happy", "sad", "angry", "sad"):
            speaker.render(word)
        assert list(speaker._cache) == ["angry", "sad"]  # the least recently used went first
        folder = speaker._tmpdir
        assert folder.is_dir()
    assert not folder.exists()


def test_speech_writes_nothing_on_stdout_or_stderr_and_each_phrase_is_whole(capfd):
    """pyttsx3's espeak driver prints "Audio saved to FILE" from espeak-ng's own thread after
    runAndWait has returned; a screen reader reads our stdout, so nothing of it may get there.
    Each rendering waits for the engine's own "finished" notice, so every phrase comes back whole."""
    from fer_audio.sound.speech import Speaker, SpeechOptions

    capfd.readouterr()
    lengths = []
    with Speaker(SpeechOptions(cache_phrases=1)) as speaker:
        for k in range(4):
            # long enough that espeak-ng is still at work when runAndWait returns (after 10 ms)
            lengths.append(len(speaker.render(f"IMG_{k}: three faces. Left: happy. Right: sad. " * 12)))
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert min(lengths) > 20 * SAMPLE_RATE  # about 30 s of speech each


def test_spoken_names_are_as_loud_as_the_earcons():
    """Short-term loudness (the loudest 100 ms RMS) of each spoken cue name within 2 dB of the
    earcons' median (espeak-ng's own level was 3-6 dB below), and no peak above the earcons'."""
    from fer_audio.sound.speech import Speaker, short_term_dbfs

    earcons = np.median([short_term_dbfs(x) for x in default_cues().values()])
    with Speaker() as speaker:
        for word in ("happy", "sad", "fear", "surprise", "shakes head", "looking at you", "Face found."):
            spoken = speaker.render(word)
            assert abs(short_term_dbfs(spoken) - earcons) <= 2.0 or np.abs(spoken).max() >= 0.88, word
            assert 20 * np.log10(np.abs(spoken).max()) <= PEAK_DBFS + 0.01, word
