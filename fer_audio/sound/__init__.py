"""Events -> samples -> device or file: cues, earcons, sound packs, speech, audio output, WAV files."""
