"""Parse many JSON files in one call to Arrow's C++ JSON reader: one array entry per file.

Parsing JSON into Python objects and then building columns from them costs
several times the parse itself (one dict per record). Arrow's JSON reader
builds the columns directly. It reads newline-delimited objects, so each
file's text is wrapped as ``{"r": <file text>}`` and the wrapped files are
joined into one buffer; entry ``i`` of the result is file ``i``'s value. The
buffer is parsed as a single block (pretty-printed files with newlines need no
rewriting), and many such batches parse at once in threads, since Arrow
releases the GIL.

Anything Arrow cannot represent, or any damaged file in the batch (truncated,
wrong top-level type, mixed types in a field), makes :func:`read_json_files`
return ``None``; the caller then reads the files one by one with the
validating path, which names the file and the problem.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.json").write_text('[\\n  {"x": 1}\\n]')
    >>> _ = (d / "b.json").write_text('[{"x": 2.5}, {"x": null, "y": "s"}]')
    >>> read_json_files([d / "a.json", d / "b.json"]).to_pylist()
    [[{'x': 1.0, 'y': None}], [{'x': 2.5, 'y': None}, {'x': None, 'y': 's'}]]
    >>> _ = (d / "c.json").write_text('[{"x": 3')          # truncated
    >>> read_json_files([d / "a.json", d / "c.json"]) is None
    True
"""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.json as pj

_HEAD, _TAIL = b'{"r":', b"}\n"

#: Arrow's block size is a 32-bit integer: larger batches go the validating path.
MAX_BATCH_BYTES = 2**31 - 2**20


def _read_wrapped(paths, sizes=None) -> memoryview | None:
    """The files' bytes, each wrapped, read straight into one buffer (no per-file copies), or None."""
    try:
        sizes = [os.stat(p).st_size for p in paths] if sizes is None else list(sizes)
    except OSError:
        return None
    total = sum(sizes) + len(paths) * (len(_HEAD) + len(_TAIL))
    if not paths or not all(sizes) or total >= MAX_BATCH_BYTES:
        return None
    buf = memoryview(bytearray(total))
    pos = 0
    for path, size in zip(paths, sizes):
        buf[pos:pos + len(_HEAD)] = _HEAD
        pos += len(_HEAD)
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                n = os.readv(fd, [buf[pos:pos + size]])
            finally:
                os.close(fd)
        except OSError:
            return None
        if n != size:  # the file changed under us: let the file-by-file path read it
            return None
        pos += size
        buf[pos:pos + len(_TAIL)] = _TAIL
        pos += len(_TAIL)
    return buf


def read_json_files(paths: list[str | os.PathLike], sizes: list[int] | None = None) -> pa.Array | None:
    """Parse JSON files into one Arrow array whose entry ``i`` is file ``i``, or None.

    None means Arrow could not read the batch as one typed array: a file that
    is missing, empty, not valid JSON, not one JSON value, or whose values do
    not share one type with the other files'. Types are unified across files
    (an integer field that is a float elsewhere becomes float64; a field
    absent from a record is null). ``sizes``, when known, saves a stat per file;
    a file that has grown since then is read short and fails to parse.
    """
    buf = _read_wrapped(paths, sizes)
    if buf is None:
        return None
    options = pj.ReadOptions(block_size=len(buf) + 1, use_threads=False)  # one block: the batch is the unit
    try:
        table = pj.read_json(pa.py_buffer(buf), read_options=options,
                             parse_options=pj.ParseOptions(newlines_in_values=True))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, pa.ArrowCapacityError):
        return None
    # Exactly one value per file, under the one key we wrote (text after a file's value would show up here).
    if table.num_rows != len(paths) or table.column_names != ["r"]:
        return None
    column = table.column(0).combine_chunks()
    return None if column.null_count else column
