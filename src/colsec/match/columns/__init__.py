"""Every non-EVE telemetry format through one table-driven column path (polars).

Each format has a table (``table_for``): source field -> the STIX (object type, path) keys the
reader fills from it and the normalisation the reader applies (lower-cased domains, base
names, canonical hash names...).  A file is cut into chunks; a per-format *splitter* turns a
chunk into one string column per source field (``read_ndjson`` for the JSON formats,
``str.split_exact`` for Zeek TSV and CSV, a vectorised key=value split for CEF, regex
extraction for syslog), row ``i`` being physical line ``i`` of the chunk.  The table's
columns go to the engine's indexes exactly as EVE's do (``vector.hit_rows``).

The columns only *propose* hits: a column may offer a value the reader would not make (a
Sysmon ``Image`` on an event the reader reads no process from), never miss one it makes.
Every hit row is read once by the format's own reader, and each column hit becomes an alert
only when the reader's event holds that value at that path (``alerts``: no second engine
pass, as EVE's hit rows); compound indicators still ask the engine.  So an alert is always the
event path's alert; the differential tests plant an indicator on every (path, value) each
reader makes from real samples and require identical alerts (indicator, line, time, matched).  Keys a
format's reader can fill that no column gives (``uncovered``) send a run through the event
path, as does any indicator anchored on a type alone.  A chunk polars refuses (one odd line)
takes the event path for that chunk only.
"""

from .feeds import COLUMN_FORMATS, table_for, uses_columns
from .run import ColumnResult, match_columns_file
from .table import Feed, Table

__all__ = [
    "COLUMN_FORMATS",
    "ColumnResult",
    "Feed",
    "Table",
    "match_columns_file",
    "table_for",
    "uses_columns",
]
