"""Sphinx directives that generate reference pages from magnet's code, so the pages cannot drift from it.

- ``magnet-cli``: the ``--help`` of ``magnet`` and of every subcommand, from :func:`magnet.cli.main.build_parser`.
- ``magnet-card-schema``: each object of ``magnet/evaluation/card_schema.json`` as a table of its fields.
- ``magnet-table-columns``: the columns of one of the four tables, as loaded from the real HELM Safety v3 suite
  in ``tests/data`` (name, dtype, how many rows carry a value, an example value).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

ROOT = Path(__file__).resolve().parents[2]
REAL_SUITE = ROOT / "tests" / "data" / "helm-safety-v3" / "benchmark_output"


def _subcommands(parser: argparse.ArgumentParser, prefix: str):
    """Yield ``(command line, parser)`` for ``parser`` and every subparser below it, depth first."""
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _subcommands(sub, f"{prefix} {name}")


def _rst_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A list-table in reStructuredText."""
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append(f"   * - {row[0]}")
        lines.extend(f"     - {cell}" for cell in row[1:])
    return lines


def _literal(text: str) -> str:
    """Inline literal in reStructuredText, safe for backquotes and empty text."""
    text = text.replace("`", "'").replace("\n", " ").strip()
    return f"``{text}``" if text else ""


class _GeneratedRst(SphinxDirective):
    """Base: subclasses return reStructuredText lines, parsed here (section titles allowed)."""

    def lines(self) -> list[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def run(self):
        node = nodes.container()
        lines = self.lines()
        if self.env.app.registry.source_parsers.get("markdown") or "myst_parser" in self.env.app.extensions:
            # in a MyST page the nested text is parsed as Markdown: hand the reStructuredText to MyST's eval-rst
            lines = ["```{eval-rst}", *lines, "```"]
        nested_parse_with_titles(self.state, StringList(lines, source="<magnet_docs>"), node)
        return node.children


class CliDirective(_GeneratedRst):
    """``magnet --help`` and each subcommand's, in order."""

    def lines(self) -> list[str]:
        from magnet.cli.main import build_parser

        self.env.note_dependency(str(ROOT / "magnet" / "cli" / "main.py"))
        out: list[str] = []
        for command, parser in _subcommands(build_parser(), "magnet"):
            parser.prog = command  # subparsers know their prog already; the root is "magnet"
            title = f"``{command}``"
            out += [title, "-" * len(title), "", ".. code-block:: text", ""]
            out += ["   " + line if line else "" for line in parser.format_help().rstrip().splitlines()]
            out.append("")
        return out


def _schema_type(spec: dict) -> str:
    if "$ref" in spec:
        return "see " + spec["$ref"].rsplit("/", 1)[-1]
    kind = spec.get("type")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if "enum" in spec:
        return "one of " + ", ".join(json.dumps(v) for v in spec["enum"])
    if kind == "array" and isinstance(spec.get("items"), dict):
        return f"array of {_schema_type(spec['items'])}"
    for key in ("oneOf", "anyOf"):
        if key in spec:
            return " or ".join(_schema_type(s) for s in spec[key])
    return kind or "any"


class CardSchemaDirective(_GeneratedRst):
    """Every object of the card schema: its fields, their types, whether required, their descriptions."""

    def lines(self) -> list[str]:
        path = ROOT / "magnet" / "evaluation" / "card_schema.json"
        self.env.note_dependency(str(path))
        schema = json.loads(path.read_text(encoding="utf-8"))
        out: list[str] = []
        for name, obj in schema["$defs"].items():
            title = f"``{name}``"
            out += [title, "-" * len(title), ""]
            if obj.get("description"):
                out += [obj["description"].replace("`", "``").replace("````", "``"), ""]
            props = obj.get("properties", {})
            if not props:
                out += [f"Type: {_literal(_schema_type(obj))}", ""]
                continue
            required = set(obj.get("required", []))
            rows = [[_literal(field), _literal(_schema_type(spec)), "yes" if field in required else "",
                     _literal(spec.get("description", ""))] for field, spec in props.items()]
            out += _rst_table(["field", "type", "required", "description"], rows) + [""]
        return out


class TableColumnsDirective(_GeneratedRst):
    """The columns of one table, loaded from the real suite in tests/data (so dtypes are real)."""

    required_arguments = 1
    option_spec = {"max-example": directives.positive_int}

    def lines(self) -> list[str]:
        from magnet.backends.helm.outputs import HelmOutputs
        from magnet.tables.columns import REQUIRED_COLUMNS

        table = self.arguments[0]
        meanings = REQUIRED_COLUMNS.get(table, {})
        width = self.options.get("max-example", 50)
        df = HelmOutputs.coerce(REAL_SUITE).table(table, progress=False)
        rows = []
        for col in df.columns:
            values = df[col].dropna()
            example = repr(values.iloc[0]) if len(values) else ""
            if len(example) > width:
                example = example[: width - 3] + "..."
            rows.append([_literal(col), meanings.get(col, ""), _literal(str(df[col].dtype)),
                         f"{len(values)} of {len(df)}", _literal(example)])
        rows.sort(key=lambda row: row[1] == "")  # the contract's columns (every source has them) first
        return _rst_table(["column", "meaning (contract columns, every source)", "dtype", "rows with a value",
                           "example"], rows) + [""]


def setup(app):
    app.add_directive("magnet-cli", CliDirective)
    app.add_directive("magnet-card-schema", CardSchemaDirective)
    app.add_directive("magnet-table-columns", TableColumnsDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
