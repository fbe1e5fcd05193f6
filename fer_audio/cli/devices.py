"""`fer-audio devices`."""

from __future__ import annotations

from fer_audio.cli.group import fail, main, out


@main.command()
def devices():
    """List audio output devices (for --audio-device).

    \b
    Example: fer-audio devices
    """
    import sounddevice as sd

    try:
        found = sd.query_devices()
        default_out = sd.default.device[1]
    except sd.PortAudioError as exc:
        fail(f"cannot list audio devices ({exc})")
    outputs = [(i, d) for i, d in enumerate(found) if d["max_output_channels"] > 0]
    if not outputs:
        fail(  # the exit code and the words of the other commands when they find no device
            "no audio output device was found; connect headphones or speakers, or write the sound "
            "to a file with live, narrate or sounds preview --audio-out FILE.wav"
        )
    for i, d in outputs:
        mark = " (default)" if i == default_out else ""
        out(f"{i}: {d['name']}, {d['max_output_channels']} channels{mark}")
