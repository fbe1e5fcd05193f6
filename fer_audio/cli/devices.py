"""`fer-audio devices`."""

from __future__ import annotations

from fer_audio.cli.group import fail, main, out


@main.command()
def devices():
    """List sound outputs and microphones.

    \b
    Example: fer-audio devices
    """
    import sounddevice as sd

    try:
        found = sd.query_devices()
        default_out = sd.default.device[1]  # -1 where there is none
    except sd.PortAudioError as exc:
        fail(f"cannot list audio devices ({exc})")
    outputs = [(i, d) for i, d in enumerate(found) if d["max_output_channels"] > 0]
    if not outputs:
        fail(  # the exit code and the words of the other commands when they find no device
            "no audio output device was found; connect headphones or speakers, or write the sound "
            "to a file with live, narrate or sounds preview --audio-out FILE.wav"
        )
    out("Outputs (--audio-device):")
    for i, d in outputs:
        mark = " (default)" if i == default_out else ""
        out(f"{i}: {d['name']}, {d['max_output_channels']} channels{mark}")
    inputs = [(i, d) for i, d in enumerate(found) if d["max_input_channels"] > 0]
    out("Inputs (--microphone):" if inputs else "Inputs (--microphone): none found.")
    default_in = sd.default.device[0]
    for i, d in inputs:
        mark = " (default)" if i == default_in else ""
        out(f"{i}: {d['name']}, {d['max_input_channels']} channels{mark}")
