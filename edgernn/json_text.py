"""One parser for JSON text a user hands over: run records, bench results, a .keras archive's config.

Every reader of user JSON goes through ``parse_json_bytes``, so the same limits hold everywhere by
construction: UTF-8 only, no stack exhaustion on hostile nesting (Python's parser recurses), a bounded
depth, and, where the caller says so, no NaN or Infinity (they are not JSON; a Keras config never needs
them, while edgernn's own history and metrics may record a diverged run as NaN).
"""
from __future__ import annotations

import json
from typing import Any

from edgernn.errors import UserError

MAX_DEPTH = 32  # an edgernn model's Keras config is 8 deep, a run record 4


class JsonRefusal(UserError):
    """The text is not JSON edgernn accepts; ``reason`` reads after the file's name ("is not UTF-8 text")."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def parse_json_bytes(body: bytes, *, allow_constants: bool = True, max_depth: int = MAX_DEPTH) -> Any:
    """The value ``body`` holds, or JsonRefusal with the reason."""
    def no_constants(c: str) -> None:
        raise JsonRefusal(f"holds {c}, which is not valid JSON")

    hook = {} if allow_constants else {"parse_constant": no_constants}
    try:
        value = json.loads(body.decode("utf-8"), **hook)
    except UnicodeDecodeError:
        raise JsonRefusal("is not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise JsonRefusal(f"is not valid JSON ({e.msg} at line {e.lineno})") from None
    except RecursionError:
        raise JsonRefusal("is nested too deeply") from None
    except JsonRefusal:
        raise
    except ValueError as e:  # an integer literal too long to convert
        raise JsonRefusal(f"is not valid JSON ({str(e)[:80]})") from None
    if nesting_depth(value, limit=max_depth) > max_depth:
        raise JsonRefusal(f"is nested more than {max_depth} levels deep")
    return value


def nesting_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """Nesting depth, iteratively (a hostile value must not exhaust the stack here either); stops past ``limit``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > limit:
            break
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((c, depth + 1) for c in children)
    return deepest
