"""The `fer-audio` click group, and the one way an error reaches the user: one line on stderr
and an exit code."""

from __future__ import annotations

import sys

import click

from fer_audio.errors import FerAudioError


def err(message: str) -> None:
    click.echo(message, err=True)


def fail(message: str, code: int = 2) -> None:
    err(f"fer-audio: {message}")
    sys.exit(code)


class OneLineErrors(click.Group):
    """Click's usage errors (a bad value, an unknown option) as one line like every other error,
    instead of its three-line usage block."""

    def main(self, *args, **kwargs):
        kwargs["standalone_mode"] = False
        kwargs.setdefault("prog_name", "fer-audio")
        try:
            code = super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:  # plain `fer-audio`: the help, as asked
            click.echo(exc.format_message())
            sys.exit(0)
        except click.UsageError as exc:
            where = f"; see '{exc.ctx.command_path} --help'" if exc.ctx is not None else ""
            fail(f"{exc.format_message().rstrip('.')}{where}", exc.exit_code)
        except click.ClickException as exc:
            fail(exc.format_message(), exc.exit_code)
        except FerAudioError as exc:  # the library's errors, each one line naming its input
            fail(str(exc), exc.exit_code)
        except click.Abort:
            fail("stopped", 130)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fer-audio")
def main() -> None:
    """Hear the facial expressions of the person you are talking to.

    A camera sees the other person; each change of expression plays a short sound or a
    spoken word in your headphones. Everything runs offline on this computer.
    """
