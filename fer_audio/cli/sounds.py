"""`fer-audio sounds preview|check|build`."""

from __future__ import annotations

import os

import click

from fer_audio.cli.group import fail, main, out
from fer_audio.cli.options import (
    WAV,
    check_audio_target,
    check_outputs,
    check_sound_pack,
    make_cuer,
    make_speaker,
    open_output,
)


@main.group()
def sounds() -> None:
    """Learn, check and build sound packs."""


@sounds.command("preview")
@click.option(
    "--sound-pack", metavar="FOLDER", type=str, default=None, help="Pack folder (default: built in)."
)
@click.option("--audio-out", metavar="FILE.wav", type=str, default=None, help="Render to a WAV file instead.")
@click.option("--no-speak", is_flag=True, help="Play the cues without their spoken names.")
@click.option("--audio-device", metavar="NAME|INDEX", default=None, help="Output device name or index.")
def sounds_preview(sound_pack, audio_out, no_speak, audio_device):
    """Play each cue followed by its spoken name, to learn them.

    \b
    Example: fer-audio sounds preview --audio-out cues.wav
    """
    check_outputs(("--audio-out", audio_out, WAV))
    check_audio_target(audio_out, audio_device, "the cues go to the file; drop one")
    check_sound_pack(sound_pack)
    from fer_audio.sound.preview import run_preview
    from fer_audio.sound.speech import SpeechOptions

    speaker = make_speaker(None, SpeechOptions().rate, not no_speak, "playing the cues without their names")
    cuer = make_cuer("tone", sound_pack, speaker, 1.0)
    output = open_output(
        audio_out, False, audio_device, "use --audio-out FILE.wav to write the cues to a file"
    )
    try:
        run_preview(cuer, output, say=out)
    finally:
        if speaker is not None:
            speaker.close()


@sounds.command("check")
@click.argument("folder", type=str)
def sounds_check(folder):
    """Validate a sound pack folder.

    \b
    Example: fer-audio sounds check ~/my-sounds
    """
    from fer_audio.sound.soundpack import SoundPackError, load_pack

    if not os.path.isdir(folder):
        why = "that is a file" if os.path.exists(folder) else "no such folder"
        fail(f"sounds check {folder}: {why}; give the folder that holds the pack's manifest.json")
    try:
        pack = load_pack(folder)
    except SoundPackError as exc:
        fail(str(exc))
    out(f"{folder}: sound pack {pack.name!r} is valid ({len(pack.cues)} cues).")


@sounds.command("build")
@click.argument("folder", type=click.Path())
@click.option("--force", is_flag=True, help="Overwrite the sounds of a pack already in FOLDER.")
def sounds_build(folder, force):
    """Write the built-in default pack to FOLDER, to start your own.

    \b
    Example: fer-audio sounds build ~/my-sounds
    """
    from fer_audio.sound.soundpack import MANIFEST, SoundPack, write_pack

    if os.path.exists(folder) and not os.path.isdir(folder):
        fail(f"sounds build {folder}: that is a file; give a folder name")
    held = (
        sorted(n for n in os.listdir(folder) if n == MANIFEST or n.endswith(".wav"))
        if os.path.isdir(folder)
        else []
    )
    if held and not force:
        fail(
            f"sounds build {folder}: the folder already holds {', '.join(held[:3])}"
            f"{' ...' if len(held) > 3 else ''}; choose a new folder, or add --force to overwrite them"
        )
    parent = os.path.dirname(os.path.abspath(folder))
    if not os.path.isdir(parent):
        fail(
            f"sounds build {folder}: the folder {parent} does not exist; "
            "create it first or choose another place"
        )

    write_pack(
        SoundPack.default(), folder, "fer-audio's built-in earcons, synthesised by fer_audio/sound/earcons.py"
    )
    out(f"Wrote the default sound pack to {folder}.")
