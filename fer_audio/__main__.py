from fer_audio.cli import run

run()
