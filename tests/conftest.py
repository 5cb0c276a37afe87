"""Shared fixtures. Real services are started once per session and always stopped."""

from __future__ import annotations

import json
from typing import Any

import pytest


@pytest.fixture(scope="session")
def function_app_functions() -> dict[str, dict[str, Any]]:
    """``app.get_functions()`` may run once per process: do it once, share the bindings."""
    import function_app

    functions = {}
    for function in function_app.app.get_functions():
        [trigger] = [b for b in function.get_bindings() if b.type.endswith("Trigger")]
        functions[function.get_function_name()] = json.loads(json.dumps(trigger.get_dict_repr(), default=str))
    return functions
