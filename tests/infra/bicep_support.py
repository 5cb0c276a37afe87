"""What the infra tests share: the template inventory, pycep-parser output helpers and a small
evaluator for the conditions and ternaries the templates use (DESIGN.md section 4).

pycep is a parser, not an evaluator: it keeps expressions as trees and does not tell a string
literal from an identifier (``'tags'`` and ``tags`` both come back as ``"tags"``). The helpers
below resolve variables of the same file where that matters and otherwise compare shapes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pycep import BicepParser

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
README = ROOT / "README.md"
MAIN = "main.bicep"
SUBSCRIPTION = "subscription.bicep"
ARCHIVE = "modules/archive-storage.bicep"
HOST = "modules/host-storage.bicep"
FUNCTION_APP = "modules/function-app.bicep"
NETWORK = "modules/network.bicep"
ENDPOINT = "modules/private-endpoint.bicep"
ACCOUNT_PRIVATE = "modules/storage-account-private.bicep"
ACCOUNT_PUBLIC = "modules/storage-account-public.bicep"

EXPECTED_FILES = {
    MAIN,
    SUBSCRIPTION,
    "modules/acs-access.bicep",
    "modules/alerts.bicep",
    "modules/app-rbac.bicep",
    ARCHIVE,
    "modules/deadletter-rbac.bicep",
    "modules/event-grid-topic.bicep",
    FUNCTION_APP,
    HOST,
    "modules/identity.bicep",
    "modules/keyvault-access.bicep",
    "modules/monitoring.bicep",
    NETWORK,
    ENDPOINT,
    ACCOUNT_PRIVATE,
    ACCOUNT_PUBLIC,
    "modules/workbook.bicep",
}


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


def parse_all() -> dict[str, Any]:
    """Every infra/**/*.bicep parsed: relative path -> pycep JSON, or the exception."""
    parser = BicepParser()
    out: dict[str, Any] = {}
    for path in bicep_files():
        try:
            out[path.relative_to(INFRA).as_posix()] = parser.parse(file_path=path)
        except Exception as exc:  # reported by test_every_bicep_file_parses
            out[path.relative_to(INFRA).as_posix()] = exc
    return out


def every(t: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """All of the templates, for checks that must not skip a file that failed to parse."""
    assert set(t) == EXPECTED_FILES, f"not parsed: {sorted(EXPECTED_FILES - set(t))}"
    return t


def text(name: str) -> str:
    return (INFRA / name).read_text(encoding="utf-8")


def code_only(code: str) -> str:
    """Bicep code without comments, and with every string literal emptied."""
    code = re.sub(r"'''.*?'''|'(?:[^'\\\n]|\\.)*'", "''", code, flags=re.S)
    code = re.sub(r"/\*.*?\*/", " ", code, flags=re.S)
    return "\n".join(line.split("//", 1)[0] for line in code.splitlines())


def deploy_section() -> str:
    """README's Deploy section as written (code blocks included), up to the next ``## `` heading."""
    readme = README.read_text(encoding="utf-8")
    start = readme.index("\n## Deploy\n")
    end = readme.find("\n## ", start + 1)
    return readme[start : end if end >= 0 else len(readme)]


# Helpers over pycep output ------------------------------------------------------------------


def body(resource: dict[str, Any]) -> Any:
    """The resource body, below any ``if (...)`` condition or ``for`` loop wrapper."""
    config = resource["config"]
    while (
        isinstance(config, dict) and ("condition" in config or "loop_type" in config) and "config" in config
    ):
        config = config["config"]
    return config


def condition(resource: dict[str, Any]) -> Any:
    return resource["config"].get("condition")


def resources(doc: dict[str, Any], rtype: str, *, existing: bool | None = False) -> dict[str, dict[str, Any]]:
    return {
        name: res
        for name, res in doc.get("resources", {}).items()
        if res["type"] == rtype and (existing is None or res["existing"] is existing)
    }


def the(doc: dict[str, Any], rtype: str, *, existing: bool | None = False) -> tuple[str, dict[str, Any]]:
    found = resources(doc, rtype, existing=existing)
    assert len(found) == 1, f"expected one {rtype}, found {sorted(found)}"
    return next(iter(found.items()))


def var(doc: dict[str, Any], name: str) -> Any:
    return doc["variables"][name]["value"]


def param(doc: dict[str, Any], name: str) -> Any:
    return doc["parameters"][name]


def decorator(doc: dict[str, Any], name: str, kind: str) -> Any:
    for dec in param(doc, name)["decorators"]:
        if dec["type"] == kind:
            return dec["argument"]
    return None


def fn(value: Any, name: str) -> Any:
    assert isinstance(value, dict) and "function" in value, f"expected {name}(...), got {value!r}"
    assert value["function"]["type"] == name, f"expected {name}(...), got {value['function']['type']}(...)"
    return value["function"]["parameters"]


def accessor(value: Any) -> list[str]:
    """``a.b.c`` -> ["a", "b", "c"]."""
    if isinstance(value, str):
        return [value]
    op = value["operator"]
    assert op["type"] == "property_accessor", value
    return [op["operands"]["operand_1"], *accessor(op["operands"]["operand_2"])]


def conditional(value: Any) -> Any:
    op = value["operator"]
    assert op["type"] == "conditional", value
    return op["operands"]


def unquote(key: str) -> str:
    return key[1:-1] if key.startswith("'") and key.endswith("'") else key


def nodes(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from nodes(item)
    elif isinstance(value, list):
        for item in value:
            yield from nodes(item)


def module_path(caller: str, module: dict[str, Any]) -> str:
    return (Path(caller).parent / module["detail"]["path"]).as_posix()


# A small evaluator ---------------------------------------------------------------------------


def evaluate(expr: Any, doc: dict[str, Any], given: Mapping[str, Any] | None = None) -> Any:
    """Evaluate what the templates put in conditions and ternaries, for one set of parameters.

    Names resolve to ``given``, else to the file's variables (evaluated in turn), else to the
    parameters' defaults; any other string is a literal (pycep does not tell them apart).
    Handles ``!``, ``&&``, ``||``, ``==``, ``!=``, ``?:`` and ``empty()``; ``a.b.c`` becomes
    the string ``"a.b.c"`` (a module output, say), and other values come back unchanged.
    """
    given = given or {}

    def name(value: str) -> Any:
        if value in given:
            return given[value]
        if value in doc.get("variables", {}):
            return evaluate(var(doc, value), doc, given)
        if value in doc.get("parameters", {}):
            return param(doc, value).get("default")
        return value

    if isinstance(expr, str):
        return name(expr)
    if not isinstance(expr, dict):
        return expr
    if "function" in expr and expr["function"]["type"] == "empty":
        (arg,) = expr["function"]["parameters"].values()
        return not evaluate(arg, doc, given)
    op = expr.get("operator")
    if not isinstance(op, dict):
        return expr
    kind, operands = op["type"], op["operands"]
    if kind == "property_accessor":
        return ".".join(accessor(expr))
    if kind == "not":
        (operand,) = operands.values()
        return not evaluate(operand, doc, given)
    if kind == "conditional":
        chosen = "true_value" if evaluate(operands["condition"], doc, given) else "false_value"
        return evaluate(operands[chosen], doc, given)
    left, right = (evaluate(operands[k], doc, given) for k in ("operand_1", "operand_2"))
    results = {
        "and": lambda: bool(left and right),
        "or": lambda: bool(left or right),
        "equals": lambda: left == right,
        "not_equals": lambda: left != right,
    }
    assert kind in results, f"the evaluator does not know {kind}"
    return results[kind]()


def deployed(doc: dict[str, Any], item: dict[str, Any], given: Mapping[str, Any] | None = None) -> bool:
    """Whether a resource or module is deployed for these parameters."""
    cond = condition(item)
    return True if cond is None else bool(evaluate(cond, doc, given))
