"""Settings errors as an operator reads them: each names the QCO_ environment variable to fix,
not the Python field (`QCO_LOG_FORMAT`, not `log_format`), with what it holds and what it takes."""

from __future__ import annotations

from pydantic import ValidationError

ENV_PREFIX = "QCO_"


def describe_settings_errors(exc: ValidationError) -> str:
    """One line per invalid variable: `QCO_LOG_FORMAT='yaml': Input should be 'json' or 'text'`."""
    lines = []
    for error in exc.errors(include_url=False):
        location = [str(part) for part in error["loc"]]
        variable = ENV_PREFIX + (location[0].upper() if location else "")
        detail = f"[{'.'.join(location[1:])}]" if len(location) > 1 else ""
        value = error.get("input")
        shown = f"={value!r}" if isinstance(value, str | int | float | bool) else ""
        lines.append(f"  {variable}{detail}{shown}: {error['msg']}")
    return "\n".join(lines)
