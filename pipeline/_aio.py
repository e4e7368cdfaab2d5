"""Run a coroutine to completion from synchronous code.

Must not touch: anything but running a coroutine from synchronous code.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(main())``, also when this thread already runs an event loop
    (a notebook, Playwright's sync API): then in a helper thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        running = False
    else:
        running = True
    if not running:
        # outside the except block: errors must not carry this RuntimeError as context
        return asyncio.run(main())
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(main())
        except BaseException as e:  # re-raised in the caller's thread
            box["error"] = e

    t = threading.Thread(target=target, name="ew-async")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
