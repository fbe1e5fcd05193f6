"""The `fer-audio` click group, and the one way an error reaches the user: one line on stderr
and an exit code."""

from __future__ import annotations

import difflib
import importlib
import os
import sys

import click
from click.utils import make_default_short_help

from fer_audio.errors import FerAudioError, Stopped


def out(line: str) -> None:
    """A line on stdout. Once its reader has gone (a pager, `head` or a screen reader's pipe
    closed early), the rest is dropped and the work goes on to the end: reports, WAV files and
    logs are still written, and the exit code is what it would have been (as `git log | head`)."""
    try:
        click.echo(line)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # later lines, and the flush at exit, go nowhere
        os.close(devnull)


def err(message: str) -> None:
    click.echo(message, err=True)


def fail(message: str, code: int = 2) -> None:
    """Each line of `message` on stderr as its own 'fer-audio: ...' line, then exit."""
    for line in message.splitlines():
        err(f"fer-audio: {line}")
    sys.exit(code)


# name -> (module that registers it on `main`, the line `fer-audio --help` shows for it). A command
# is imported only when it runs or shows its own help, so `fer-audio --help` loads none of them
# (they read their defaults from the stage options, whose modules import numpy and OpenCV);
# tests/test_cli.py checks each line against the command's own docstring.
COMMANDS = {
    "devices": ("fer_audio.cli.devices", "List sound outputs and microphones."),
    "evaluate": ("fer_audio.cli.evaluate", "Score an expression model on labelled faces."),
    "live": ("fer_audio.cli.live", "Hear the expressions of the person in front of the camera."),
    "narrate": ("fer_audio.cli.narrate", "Say the emotions of the faces in photos, left to right."),
    "sounds": ("fer_audio.cli.sounds", "Learn, check and build sound packs."),
    "train": ("fer_audio.cli.train", "Train the expression model (needs the [train] extra)."),
}


NO_BREAK = "\u2011"  # a hyphen the help's line wrapping does not break at (put back before output)


class ListenerFormatter(click.HelpFormatter):
    """Click's help, wrapped at spaces only: '--wait-for-pause' or 'en-gb' is never cut in two
    at the end of a line (click breaks at hyphens), which a listener hears as two words."""

    def write_dl(self, rows, *args, **kwargs) -> None:
        start = len(self.buffer)
        super().write_dl([(term, text.replace("-", NO_BREAK)) for term, text in rows], *args, **kwargs)
        self.buffer[start:] = [part.replace(NO_BREAK, "-") for part in self.buffer[start:]]

    def write_text(self, text: str) -> None:
        start = len(self.buffer)
        super().write_text(text.replace("-", NO_BREAK))
        self.buffer[start:] = [part.replace(NO_BREAK, "-") for part in self.buffer[start:]]


class ListenerContext(click.Context):
    formatter_class = ListenerFormatter


class ListenerCommand(click.Command):
    context_class = ListenerContext


class ListenerGroup(click.Group):
    """A subgroup (`sounds`): its help and its commands' help wrapped as the rest."""

    context_class = ListenerContext
    command_class = ListenerCommand


class OneLineErrors(click.Group):
    """Click's usage errors (a bad value, an unknown option) as one line like every other error,
    instead of its three-line usage block. Commands load on first use (COMMANDS)."""

    context_class = ListenerContext
    command_class = ListenerCommand
    group_class = ListenerGroup

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            importlib.import_module(COMMANDS[cmd_name][0])  # its decorator registers it on `main`
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, make_default_short_help(line, limit)) for name, (_, line) in sorted(COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:  # before click's main, which would print an empty line
            raise Stopped("stopped") from exc

    def main(self, *args, **kwargs):
        kwargs["standalone_mode"] = False
        kwargs.setdefault("prog_name", "fer-audio")
        try:
            code = super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:  # plain `fer-audio`: the help, as asked
            out(exc.format_message())
            sys.exit(0)
        except click.UsageError as exc:
            where = f"; see '{exc.ctx.command_path} --help'" if exc.ctx is not None else ""
            fail(f"{_usage_message(exc)}{where}", exc.exit_code)
        except click.ClickException as exc:
            fail(exc.format_message(), exc.exit_code)
        except FerAudioError as exc:  # the library's errors, each one line naming its input
            fail(str(exc), exc.exit_code)
        except (click.Abort, KeyboardInterrupt):  # click makes Ctrl-C an Abort only once a command
            fail("stopped", 130)  # runs; before that (its own start-up) it arrives as it is
        except ImportError as exc:
            if not _interrupted(exc):
                raise
            fail("stopped", 130)  # Ctrl-C while a native module loads (LiteRT's) arrives wrapped
        sys.exit(code if isinstance(code, int) else 0)


def _interrupted(exc: BaseException) -> bool:
    """Whether `exc` was raised by a Ctrl-C: pybind11 turns a KeyboardInterrupt during a native
    module's initialisation into ImportError('initialization failed') raised from it."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _usage_message(exc: click.UsageError) -> str:
    """Click's message, except that an unknown option is offered only a close match (click offers
    any three options sharing a letter: --colour got --record, --source, --volume)."""
    if not isinstance(exc, click.NoSuchOption):
        return exc.format_message().rstrip(".")
    close = difflib.get_close_matches(exc.option_name, exc.possibilities or [], n=1, cutoff=0.75)
    return f"no such option {exc.option_name}" + (f" (did you mean {close[0]}?)" if close else "")


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fer-audio")
def main() -> None:
    """Hear the facial expressions of the person you are talking to.

    A camera sees the other person; each change of expression plays a short sound or a
    spoken word in your headphones. Everything runs offline on this computer.
    """
