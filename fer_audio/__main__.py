from fer_audio.cli import main

main()
