"""Registry of the CLI subcommands that live next to their library code.

Each entry is a function ``register(subparsers)`` adding one subcommand;
:mod:`magnet.cli` calls them all.
"""

from magnet import benchmark_command, predict_command
from magnet.evaluation import cli as evaluation_cli

REGISTRARS: list = [predict_command.register, benchmark_command.register, evaluation_cli.register]
