"""`fer-audio evaluate`."""

from __future__ import annotations

import click

from fer_audio.cli.group import err, fail, main, out
from fer_audio.cli.options import JSON, check_data_inputs, check_model, check_outputs


@main.command()
@click.option(
    "--data",
    metavar="PATH",
    required=True,
    type=str,
    help="Labelled face crops: class folders, a .tar.gz of them, or the challenge CSV.",
)
@click.option(
    "--model",
    metavar="FILE.tflite",
    type=str,
    default=None,
    help="A .tflite model (default: the shipped one).",
)
@click.option(
    "--usage",
    metavar="SPLIT",
    default=None,
    help="Which split: PublicTest, PrivateTest or Training (default: PublicTest if present, else all).",
)
@click.option(
    "--votes",
    metavar="FILE.csv",
    type=str,
    default=None,
    help="FER+ crowd votes (ferplus-votes.csv, or fer2013new.csv with the challenge CSV): also "
    "report agreement with the crowd's majority.",
)
@click.option(
    "--json", "json_out", metavar="FILE.json", type=str, default=None, help="Write the scores as JSON."
)
def evaluate(data, model, usage, votes, json_out):
    """Score an expression model on labelled faces.

    It reads each face through the run-time path, as live and narrate do.

    With --votes, agreement with the crowd's majority (faces with a tie or an unknown, not-a-face
    or contempt majority are left out and counted) is reported next to accuracy on the
    dataset's own labels.

    \b
    Example: fer-audio evaluate --data fer2013-images.tar.gz --votes ferplus-votes.csv --json s.json
    """
    check_data_inputs(data, votes)
    check_model(model)
    from fer_audio.data.datasets import USAGES

    if usage is not None and usage not in USAGES:
        fail(f"--usage {usage}: choose from {', '.join(USAGES)}")
    check_outputs(("--json", json_out, JSON))
    from fer_audio.data.evaluate import describe
    from fer_audio.data.evaluate import evaluate as score_model

    result = score_model(data, model, usage, votes, note=err)
    out(describe(result))
    if json_out:
        import json

        from fer_audio.outputs import write_atomic

        write_atomic(json_out, json.dumps(result, indent=2))
