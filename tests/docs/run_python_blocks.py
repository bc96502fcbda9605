"""Run the Python blocks of one page, in order, in one namespace, as a reader would.

Reads a JSON list of ``[where, code]`` pairs on stdin. Top-level ``await`` is
allowed, as in an async REPL; every block runs in the same event loop. Pages
assume ``import jamsession``, as the getting started page begins with it.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
import sys
import traceback
import types


async def run(blocks: list[tuple[str, str]]) -> None:
    # A module in sys.modules, as a reader's script is: frameworks (Litestar) resolve
    # the type hints of handlers through the module that defines them.
    module = types.ModuleType("__docs__")
    sys.modules[module.__name__] = module
    namespace: dict[str, object] = module.__dict__
    exec("import jamsession", namespace)  # noqa: S102 - the pages' common first line
    for where, code in blocks:
        try:
            compiled = compile(code, where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            result = eval(compiled, namespace)  # noqa: S307 - the documentation's own code
            if inspect.isawaitable(result):
                await result
        except BaseException:  # noqa: BLE001 - any failure of a block is reported, with its traceback
            print(f"block at {where} failed:", file=sys.stderr)
            traceback.print_exc()
            raise SystemExit(1) from None
    import jamsession

    for value in list(namespace.values()):
        # Close the stores the page left open, as the end of a program would.
        if isinstance(value, jamsession.BaseAsyncSessionModule):
            await value.aclose()


if __name__ == "__main__":
    asyncio.run(run([tuple(pair) for pair in json.load(sys.stdin)]))
