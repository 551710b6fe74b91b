"""User-facing errors.

A ``UserError`` is a mistake the user can fix (bad path, bad option, corrupt file).
The CLI prints its message on one line and exits with status 2; it never shows a traceback.
"""


class UserError(Exception):
    """A problem with the user's input: reported as one line, exit status 2."""

    exit_code = 2


def require(condition: bool, message: str) -> None:
    """Raise ``UserError(message)`` unless ``condition`` holds."""
    if not condition:
        raise UserError(message)
