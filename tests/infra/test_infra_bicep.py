"""Checks of infra/ without the Bicep CLI: every template parses with pycep-parser, and the
security properties, role assignments, Event Grid wiring and app settings are asserted on the
parsed output (DESIGN.md section 4). Shared helpers: tests/infra/bicep_support.py; Flex
Consumption, private network mode and the archive's WORM and lock have their own files.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from pycep import BicepParser

from archiver import logs, settings
from tests.infra.bicep_support import (
    ACCOUNT_PRIVATE,
    ACCOUNT_PUBLIC,
    ARCHIVE,
    EXPECTED_FILES,
    HOST,
    INFRA,
    MAIN,
    README,
    ROOT,
    SUBSCRIPTION,
    accessor,
    bicep_files,
    body,
    condition,
    conditional,
    decorator,
    deployed,
    every,
    fn,
    module_path,
    nodes,
    param,
    resources,
    text,
    the,
    unquote,
    var,
)

# Built-in role definition ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
STORAGE_QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
COMMUNICATION_AND_EMAIL_SERVICE_OWNER = "09976791-48a7-449e-bb21-39d1a415f350"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
USER_ACCESS_ADMINISTRATOR = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"

# Settings the Functions host (not archiver.settings) reads.
HOST_SETTING = re.compile(r"^(FUNCTIONS_|AzureWebJobsStorage|APPLICATIONINSIGHTS_|AZURE_CLIENT_ID$)")

DEAD_LETTER_CONTAINER = "eventgrid-deadletter"
INGRESS_FUNCTION = "ingest_recording_event"
RECORDING_EVENT = "Microsoft.Communication.RecordingFileStatusUpdated"


# Every file parses ---------------------------------------------------------------------------


def test_every_bicep_file_parses(parsed: dict[str, Any]) -> None:
    failures = {name: repr(doc)[:300] for name, doc in parsed.items() if not isinstance(doc, dict)}
    assert not failures, f"pycep-parser could not parse: {failures}"
    assert set(parsed) == EXPECTED_FILES


def _checkov_unsafe_syntax(code: str) -> list[str]:
    """The syntax checkov's older parser cannot read, found in ``code`` (comments stripped)."""
    code = "\n".join(line.split("//", 1)[0] for line in code.splitlines())
    found = []
    if "..." in code:
        found.append("spread operator")
    if re.search(r"^\s*type\s+\w+\s*=", code, re.M):
        found.append("type declaration")
    if re.search(r"\b(reduce|sort|map|filter|toObject|groupBy|mapValues)\(", code):
        found.append("lambda")
    if re.search(r"\?\s*$|^\s*[?:]\s", code, re.M):
        found.append("multi-line ternary")
    return found


def test_only_syntax_that_checkov_also_parses() -> None:
    """checkov's older parser silently skips files with newer syntax (DESIGN.md section 4)."""
    assert not list(INFRA.rglob("*.bicepparam")), "use main.parameters.json, not .bicepparam"
    files = bicep_files()
    assert {path.relative_to(INFRA).as_posix() for path in files} == EXPECTED_FILES
    for path in files:
        found = _checkov_unsafe_syntax(path.read_text(encoding="utf-8"))
        assert not found, f"{path.relative_to(INFRA)}: {found}"


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("var merged = {\n  ...base\n  b: 2\n}", "spread operator"),
        ("type names = string[]", "type declaration"),
        ("var total = reduce(xs, 0, (acc, x) => acc + x)", "lambda"),
        ("var ids = map(xs, x => x.id)", "lambda"),
        ("var v = empty(a) ?\n  'x'\n  : 'y'", "multi-line ternary"),
        ("var v = empty(a)\n  ? 'x'\n  : 'y'", "multi-line ternary"),
    ],
)
def test_checkov_syntax_check_catches_what_it_should(code: str, kind: str) -> None:
    assert _checkov_unsafe_syntax(code) == [kind]
    commented = "\n".join(f"// {line}" for line in code.splitlines())
    assert _checkov_unsafe_syntax(commented) == [], "comments are not code"


def test_checkov_syntax_check_accepts_what_both_parsers_read() -> None:
    assert _checkov_unsafe_syntax("var v = empty(a) ? 'x' : 'y'\nvar w = union(a, {\n  b: 2\n})") == []


def _ternaries_inside_operators(doc: dict[str, Any]) -> tuple[int, list[str]]:
    """(how many conditionals the walk met, the operators that hold one as a direct operand)."""
    conditionals, hidden = 0, []
    for node in nodes(doc):
        op = node.get("operator")
        if not isinstance(op, dict):
            continue
        if op.get("type") == "conditional":
            conditionals += 1
            continue
        for operand in op.get("operands", {}).values():
            inner = operand.get("operator", {}) if isinstance(operand, dict) else {}
            if inner.get("type") == "conditional":
                hidden.append(op["type"])
    return conditionals, hidden


def _ternary_marks(code: str) -> int:
    """The ``?`` of ternaries in Bicep code: outside comments and strings, not ``??`` or ``.?``."""
    code = re.sub(r"'''.*?'''|'(?:[^'\\\n]|\\.)*'", "''", code, flags=re.S)
    code = "\n".join(line.split("//", 1)[0] for line in code.splitlines())
    return len(re.findall(r"(?<![?.])\?(?![?.])", code))


def test_no_ternary_hides_inside_an_operator(t: dict[str, dict[str, Any]]) -> None:
    """``a > 0 ? x : y`` is ``(a > 0) ? x : y`` to Bicep but ``a > (0 ? x : y)`` to pycep, and
    ``!empty(a) ? x : y`` becomes ``!(empty(a) ? x : y)``: parenthesise the condition, or use
    ``empty(a) ? y : x``, so that every parser reads what Bicep reads."""
    seen = 0
    for name, doc in every(t).items():
        conditionals, hidden = _ternaries_inside_operators(doc)
        assert not hidden, f"{name}: ternary parsed inside {hidden}"
        # The walk met every ternary the file has (none was missed, so none went unchecked).
        assert conditionals == _ternary_marks(text(name)), name
        seen += conditionals
    assert seen > 0


@pytest.mark.parametrize(
    ("code", "hidden"),
    [
        ("var v = a > 0 ? 1 : 2", ["greater_than"]),
        ("var v = !empty(a) ? 'x' : 'y'", ["not"]),
        ("var v = concat([1], a == 'b' ? [1] : [])", ["equals"]),
        ("var v = (a > 0) ? 1 : 2", []),
        ("var v = empty(a) ? 'y' : 'x'", []),
    ],
)
def test_ternary_check_catches_what_it_should(code: str, hidden: list[str]) -> None:
    assert _ternaries_inside_operators(BicepParser().parse(text=f"var a = 0\n{code}\n")) == (1, hidden)
    assert _ternary_marks(f"{code} // or b ? c : d\nvar u = 'https://x?sv=1&b=${{a ?? 1}}'\n") == 1


# main.bicep, azd conventions -------------------------------------------------------------------


def test_main_follows_the_azd_template_conventions(t: dict[str, dict[str, Any]]) -> None:
    main = t[MAIN]
    assert main["globals"]["scope"]["value"] == "subscription"
    assert fn(var(main, "abbrs"), "load_json_content")["file_path"] == "./abbreviations.json"
    token = fn(fn(var(main, "resourceToken"), "to_lower")["string_to_change"], "unique_string")
    assert fn(token["base_string"]["operator"]["operands"]["operand_1"], "subscription")
    assert (token["extra_string_1"], token["extra_string_2"]) == ("environmentName", "location")
    assert var(main, "tags") == {"'azd-env-name'": "environmentName"}

    abbreviations = json.loads(text("abbreviations.json"))
    used = set(re.findall(r"abbrs\.(\w+)", text(MAIN)))
    assert used and used <= set(abbreviations), f"unknown abbreviations: {used - set(abbreviations)}"

    for name in main["outputs"]:
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name), f"output {name} is not UPPER_SNAKE"

    _, app = the(t["modules/function-app.bicep"], "Microsoft.Web/sites")
    tags = fn(body(app)["tags"], "union")
    assert tags["arg_1"] == "tags" and tags["arg_2"] == {"'azd-service-name'": "archiver"}


def test_main_parameters_json_maps_every_required_parameter(t: dict[str, dict[str, Any]]) -> None:
    main = t[MAIN]
    mapped = json.loads(text("main.parameters.json"))["parameters"]
    assert set(mapped) <= set(main["parameters"]), f"unknown: {set(mapped) - set(main['parameters'])}"
    required = {name for name, p in main["parameters"].items() if p.get("default") is None}
    assert required <= set(mapped), f"not mapped from the azd environment: {required - set(mapped)}"
    assert {"acsResourceName", "acsResourceGroupName"} <= required, "the ACS resource must be chosen"
    for name, entry in mapped.items():
        assert re.fullmatch(r"\$\{[A-Z][A-Z0-9_]*(=[^}]*)?\}", entry["value"]), f"{name}: {entry['value']}"


def test_outputs_never_clobber_an_input_variable(t: dict[str, dict[str, Any]]) -> None:
    """azd writes every output into the environment, where main.parameters.json reads the inputs:
    an output named like an input variable must give the parameter back a value of its type."""
    main = t[MAIN]
    mapped = json.loads(text("main.parameters.json"))["parameters"]
    variable_of = {
        re.match(r"\$\{([A-Z0-9_]+)", entry["value"]).group(1): name  # type: ignore[union-attr]
        for name, entry in mapped.items()
    }
    shared = set(main["outputs"]) & set(variable_of)
    assert shared, "some outputs do echo their inputs (ARCHIVE_CONTAINER, SOURCE_RETENTION_HOURS)"
    for output in shared:
        assert main["outputs"][output]["type"] == param(main, variable_of[output])["type"], output


def _module_params(t: dict[str, dict[str, Any]], caller: str, module: dict[str, Any]) -> None:
    path = (Path(caller).parent / module["detail"]["path"]).as_posix()
    assert path in t, f"{caller}: module {path} missing"
    target = t[path]["parameters"]
    passed = body(module)["params"]
    assert set(passed) <= set(target), f"{caller} -> {path}: unknown params {set(passed) - set(target)}"
    required = {name for name, p in target.items() if p.get("default") is None}
    assert required <= set(passed), f"{caller} -> {path}: missing params {required - set(passed)}"


def test_modules_receive_exactly_their_parameters(t: dict[str, dict[str, Any]]) -> None:
    """What the Bicep compiler would check: no unknown and no missing module parameters."""
    count = 0
    for caller, doc in t.items():
        for module in doc.get("modules", {}).values():
            assert module["type"] == "local", "only local modules: checkov cannot see registry modules"
            _module_params(t, caller, module)
            count += 1
    # main.bicep 18 (5 of them private network mode only), archive and host storage 2 each.
    assert count == 22


def _chain(value: Any) -> list[Any]:
    """``a.b.c`` -> ["a", "b", "c"]; anything else -> [value]."""
    op = value.get("operator") if isinstance(value, dict) else None
    if isinstance(op, dict) and op.get("type") == "property_accessor":
        return [op["operands"]["operand_1"], *_chain(op["operands"]["operand_2"])]
    return [value]


def test_module_outputs_used_by_main_exist(t: dict[str, dict[str, Any]]) -> None:
    main = t[MAIN]
    paths = {name: (Path(m["detail"]["path"])).as_posix() for name, m in main["modules"].items()}
    in_text = set(re.findall(r"\b(\w+)!?\.outputs\.(\w+)", text(MAIN)))
    parsed = {
        (chain[0], chain[2])
        for node in nodes(main)
        if len(chain := _chain(node)) >= 3 and chain[0] in paths and chain[1] == "outputs"
    }
    # The text search sees the references the parser sees, and main.bicep has some.
    assert in_text == parsed
    assert {module for module, _ in parsed} >= {"identity", "hostStorage", "archiveStorage", "functionApp"}
    for module, output in sorted(in_text):
        assert module in paths, f"{MAIN}: {module} is not a module"
        assert output in t[paths[module]].get("outputs", {}), f"{paths[module]} has no output {output}"


# Storage ---------------------------------------------------------------------------------------
# Each account is declared twice, once per network mode (storage-account-private.bicep and
# storage-account-public.bicep), so that checkov judges each variant on its literals; the
# containers, queues and policies are declared once on an existing reference to the account.
# Private network mode has its own tests (test_infra_network.py), the archive's containers,
# WORM and lock theirs (test_infra_archive.py).

NETWORK_KEYS = {"publicNetworkAccess", "networkAcls"}


def _account(t: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    _, account = the(t[name], "Microsoft.Storage/storageAccounts")
    return body(account)


@pytest.mark.parametrize("name", [ACCOUNT_PRIVATE, ACCOUNT_PUBLIC])
def test_storage_accounts_are_locked_down(t: dict[str, dict[str, Any]], name: str) -> None:
    config = _account(t, name)
    props = config["properties"]
    assert config["kind"] == "StorageV2"
    assert props["allowBlobPublicAccess"] is False
    assert props["allowSharedKeyAccess"] is False
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["supportsHttpsTrafficOnly"] is True
    assert props["defaultToOAuthAuthentication"] is True
    assert props["allowCrossTenantReplication"] is False
    assert props["isLocalUserEnabled"] is False
    assert props["isSftpEnabled"] is False
    assert props["isHnsEnabled"] is False
    assert props["encryption"]["requireInfrastructureEncryption"] is True
    assert props["encryption"]["services"] == "encryptionServices"
    assert config["sku"]["name"] == "skuName"


def test_the_two_account_variants_differ_only_in_network_access(t: dict[str, dict[str, Any]]) -> None:
    private, public = _account(t, ACCOUNT_PRIVATE), _account(t, ACCOUNT_PUBLIC)

    def without_network(config: dict[str, Any]) -> dict[str, Any]:
        return {
            **config,
            "properties": {k: v for k, v in config["properties"].items() if k not in NETWORK_KEYS},
        }

    assert without_network(private) == without_network(public)
    assert set(private["properties"]) >= NETWORK_KEYS and set(public["properties"]) >= NETWORK_KEYS
    extra = {"bypass", "resourceAccessRules"}
    assert set(t[ACCOUNT_PRIVATE]["parameters"]) == set(t[ACCOUNT_PUBLIC]["parameters"]) | extra
    assert private["properties"]["publicNetworkAccess"] == "Disabled"
    assert private["properties"]["networkAcls"] == {
        "defaultAction": "Deny",
        "bypass": "bypass",
        "ipRules": [],
        "virtualNetworkRules": [],
        "resourceAccessRules": "resourceAccessRules",
    }
    # The most closed default; a caller that needs trusted services says so (the archive).
    assert param(t[ACCOUNT_PRIVATE], "bypass")["default"] == "None"
    assert set(decorator(t[ACCOUNT_PRIVATE], "bypass", "allowed")) == {"AzureServices", "None"}
    assert param(t[ACCOUNT_PRIVATE], "resourceAccessRules")["default"] == []
    assert public["properties"]["publicNetworkAccess"] == "Enabled"
    assert public["properties"]["networkAcls"] == {"defaultAction": "Allow", "bypass": "AzureServices"}


@pytest.mark.parametrize(("name", "containers"), [(ARCHIVE, 8), (HOST, 1)])
@pytest.mark.parametrize("isolated", [False, True])
def test_each_account_is_declared_once_per_network_mode(
    t: dict[str, dict[str, Any]], name: str, containers: int, isolated: bool
) -> None:
    doc = t[name]
    assert not resources(doc, "Microsoft.Storage/storageAccounts"), (
        "declare the account in the variant modules"
    )
    _, existing = the(doc, "Microsoft.Storage/storageAccounts", existing=True)
    assert body(existing)["name"] == "name"
    variants = {module_path(name, m): symbol for symbol, m in doc["modules"].items()}
    assert set(variants) == {ACCOUNT_PRIVATE, ACCOUNT_PUBLIC}
    chosen = {
        path
        for path, symbol in variants.items()
        if deployed(doc, doc["modules"][symbol], {"networkIsolation": isolated})
    }
    assert chosen == {ACCOUNT_PRIVATE if isolated else ACCOUNT_PUBLIC}
    for module in doc["modules"].values():
        passed = body(module)["params"]
        assert {k: passed[k] for k in ("name", "location", "tags", "skuName", "encryptionServices")} == {
            "name": "name",
            "location": "location",
            "tags": "tags",
            "skuName": "skuName",
            "encryptionServices": "encryptionServices",
        }
    # Everything declared directly on the account waits for whichever variant was deployed.
    for res_name, res in doc["resources"].items():
        config = body(res)
        if "storage" in (config.get("parent"), config.get("scope")):
            assert set(config.get("dependsOn", [])) == set(variants.values()), f"{name}: {res_name}"
    found = resources(doc, "Microsoft.Storage/storageAccounts/blobServices/containers")
    assert len(found) == containers, f"{name}: containers {sorted(found)}"
    for container_name, container in found.items():
        assert body(container)["properties"]["publicAccess"] == "None", container_name


def test_encryption_scopes_keep_what_each_account_was_created_with(t: dict[str, dict[str, Any]]) -> None:
    """keyType cannot change after an account is created: the archive encrypts blob with an
    account-scoped key, the host blob and queue (as before the accounts moved into modules)."""
    account_key = {"enabled": True, "keyType": "Account"}
    assert var(t[ARCHIVE], "encryptionServices") == {"blob": account_key}
    assert var(t[HOST], "encryptionServices") == {"blob": account_key, "queue": account_key}


def test_archive_account_is_grs_family_only(t: dict[str, dict[str, Any]]) -> None:
    archive = t[ARCHIVE]
    grs_family = {"Standard_GRS", "Standard_RAGRS"}
    assert set(decorator(archive, "skuName", "allowed")) <= grs_family
    assert param(archive, "skuName")["default"] in grs_family
    assert set(decorator(t[MAIN], "archiveStorageSku", "allowed")) <= grs_family
    assert param(t[MAIN], "archiveStorageSku")["default"] in grs_family
    assert body(t[MAIN]["modules"]["archiveStorage"])["params"]["skuName"] == "archiveStorageSku"


def test_archive_blobs_have_versioning_and_soft_delete(t: dict[str, dict[str, Any]]) -> None:
    archive = t[ARCHIVE]
    _, service = the(archive, "Microsoft.Storage/storageAccounts/blobServices")
    props = body(service)["properties"]
    assert props["isVersioningEnabled"] is True
    assert props["deleteRetentionPolicy"]["enabled"] is True
    assert props["deleteRetentionPolicy"]["allowPermanentDelete"] is False
    assert props["containerDeleteRetentionPolicy"]["enabled"] is True
    for policy in (props["deleteRetentionPolicy"], props["containerDeleteRetentionPolicy"]):
        assert policy["days"] == "softDeleteRetentionDays"
    assert decorator(archive, "softDeleteRetentionDays", "min_value") >= 1


def test_host_storage_holds_the_job_queues(t: dict[str, dict[str, Any]]) -> None:
    host = t[HOST]
    queues = resources(host, "Microsoft.Storage/storageAccounts/queueServices/queues")
    names = {var(host, body(q)["name"]) for q in queues.values()}
    assert names == {settings.JOBS_QUEUE, settings.POISON_QUEUE}


# Function App ---------------------------------------------------------------------------------


def test_function_app_is_flex_consumption_python_311(t: dict[str, dict[str, Any]]) -> None:
    app_module = t["modules/function-app.bicep"]
    _, plan = the(app_module, "Microsoft.Web/serverfarms")
    assert body(plan)["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    assert body(plan)["properties"]["reserved"] is True

    _, app = the(app_module, "Microsoft.Web/sites")
    config = body(app)
    assert config["kind"] == "functionapp,linux"
    props = config["properties"]
    assert props["httpsOnly"] is True
    assert props["siteConfig"]["minTlsVersion"] == "1.2"
    assert props["siteConfig"]["scmMinTlsVersion"] == "1.2"
    flex = props["functionAppConfig"]
    assert flex["runtime"] == {"name": "python", "version": "3.11"}
    assert flex["scaleAndConcurrency"] == {
        "instanceMemoryMB": "instanceMemoryMB",
        "maximumInstanceCount": "maximumInstanceCount",
    }
    for name in ("instanceMemoryMB", "maximumInstanceCount"):
        assert name in t[MAIN]["parameters"] and name in app_module["parameters"]


def test_function_app_uses_one_user_assigned_identity_everywhere(t: dict[str, dict[str, Any]]) -> None:
    _, app = the(t["modules/function-app.bicep"], "Microsoft.Web/sites")
    props = body(app)["properties"]
    assert body(app)["identity"] == {
        "type": "UserAssigned",
        "userAssignedIdentities": {"'${identityId}'": {}},
    }
    storage = props["functionAppConfig"]["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["authentication"] == {
        "type": "UserAssignedIdentity",
        "userAssignedIdentityResourceId": "identityId",
    }
    assert props["keyVaultReferenceIdentity"] == "identityId"
    assert (
        len(resources(t["modules/identity.bicep"], "Microsoft.ManagedIdentity/userAssignedIdentities")) == 1
    )


def test_basic_publishing_credentials_are_disabled(t: dict[str, dict[str, Any]]) -> None:
    """Flex Consumption has an SCM (deployment) endpoint, whose basic auth is switched off; it
    has no FTP endpoint (Microsoft: ftpsState "FTPS not supported"), so no 'ftp' policy."""
    policies = resources(
        t["modules/function-app.bicep"], "Microsoft.Web/sites/basicPublishingCredentialsPolicies"
    )
    assert {body(p)["name"]: body(p)["properties"]["allow"] for p in policies.values()} == {"scm": False}


def _app_settings(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Setting group variable -> {setting name: value expression}."""
    _, app = the(doc, "Microsoft.Web/sites")
    expr = fn(body(app)["properties"]["siteConfig"]["appSettings"], "concat")
    assert expr["arg_1"] == "hostSettings" and expr["arg_2"] == "archiverSettings"
    assert conditional(expr["arg_3"]) == {
        "condition": "useKeyAuth",
        "true_value": "keyAuthSettings",
        "false_value": "identityAuthSettings",
    }
    groups = {}
    for group in ("hostSettings", "archiverSettings", "keyAuthSettings", "identityAuthSettings"):
        entries = var(doc, group)
        assert all(set(e) == {"name", "value"} for e in entries)
        groups[group] = {e["name"]: e["value"] for e in entries}
    assert not resources(doc, "Microsoft.Web/sites/config"), (
        "app settings live in siteConfig.appSettings only"
    )
    return groups


def test_app_settings_match_the_settings_model(t: dict[str, dict[str, Any]]) -> None:
    """A renamed setting in archiver/settings.py must fail here, not in production."""
    groups = _app_settings(t["modules/function-app.bicep"])
    every = [name for group in groups.values() for name in group]
    assert len(every) == len(set(every)), "a setting is set twice"
    known = set(settings.setting_names())
    app_owned = {name for name in every if not HOST_SETTING.match(name)}
    assert app_owned <= known, f"infra sets settings the app does not read: {app_owned - known}"

    always = set(groups["hostSettings"]) | set(groups["archiverSettings"])
    required = {
        "ARCHIVE_STORAGE_ACCOUNT_URL",
        "ARCHIVE_CONTAINER",
        "ALLOWED_ACS_RESOURCE_IDS",
        "SOURCE_RETENTION_HOURS",
        "AT_RISK_MARGIN_MINUTES",
        "DELETE_SOURCE_AFTER_ARCHIVE",
        "ALLOWED_SOURCE_HOSTS",
        "AZURE_CLIENT_ID",
        "AzureWebJobsStorage__accountName",
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
        "AzureWebJobsStorage__queueServiceUri",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    }
    assert required <= always, f"missing: {required - always}"
    assert set(groups["identityAuthSettings"]) == {"ACS_ENDPOINT"}
    assert set(groups["keyAuthSettings"]) == {"ACS_CONNECTION_STRING"}
    for name in required | {"ACS_ENDPOINT", "ACS_CONNECTION_STRING"}:
        assert HOST_SETTING.match(name) or name in known, name


def test_host_storage_and_telemetry_use_the_identity(t: dict[str, dict[str, Any]]) -> None:
    groups = _app_settings(t["modules/function-app.bicep"])
    host = groups["hostSettings"]
    assert host["AzureWebJobsStorage__credential"] == "managedidentity"
    assert host["AzureWebJobsStorage__clientId"] == "identityClientId"
    assert host["AZURE_CLIENT_ID"] == "identityClientId"
    assert (
        host["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "ClientId=${identityClientId};Authorization=AAD"
    )
    every = {name for group in groups.values() for name in group}
    # No key-based host storage, and nothing Flex Consumption rejects.
    forbidden = {
        "AzureWebJobsStorage",
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_EXTENSION_VERSION",
        "WEBSITE_RUN_FROM_PACKAGE",
        "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
        "WEBSITE_CONTENTSHARE",
        "ARCHIVE_STORAGE_CONNECTION_STRING",
        "LOCAL_SOURCE_URL",
    }
    assert not every & forbidden


def test_acs_connection_string_only_as_key_vault_reference(t: dict[str, dict[str, Any]]) -> None:
    doc = t["modules/function-app.bicep"]
    groups = _app_settings(doc)
    assert groups["keyAuthSettings"]["ACS_CONNECTION_STRING"] == (
        "@Microsoft.KeyVault(SecretUri=${acsConnectionStringSecretUri})"
    )
    assert param(doc, "acsConnectionStringSecretUri")["default"] == ""
    use_key = var(doc, "useKeyAuth")
    assert use_key["operator"]["type"] == "not"
    main = t[MAIN]
    assert param(main, "acsAuthMode")["default"] == "identity"
    assert set(decorator(main, "acsAuthMode", "allowed")) == {"identity", "key"}
    passed = body(main["modules"]["functionApp"])["params"]
    secret_uri = conditional(passed["acsConnectionStringSecretUri"])
    assert secret_uri["condition"] == "useKeyAuth" and secret_uri["false_value"] == ""
    assert accessor(secret_uri["true_value"]) == ["keyVaultAccess", "outputs", "secretUri"]
    assert accessor(passed["allowedAcsResourceIds"]) == ["acsAccess", "outputs", "id"]
    assert accessor(passed["acsEndpoint"]) == ["acsAccess", "outputs", "endpoint"]
    assert condition(main["modules"]["keyVaultAccess"]) == "useKeyAuth"


def test_infra_setting_values_are_accepted_by_the_settings_model(t: dict[str, dict[str, Any]]) -> None:
    """Render the settings with the parameters' defaults and let the real model validate them."""
    main = t[MAIN]
    defaults = {name: p.get("default") for name, p in main["parameters"].items()}
    env = {
        "ARCHIVE_STORAGE_ACCOUNT_URL": "https://starcexample.blob.core.windows.net",
        "ARCHIVE_CONTAINER": defaults["archiveContainerName"],
        "ALLOWED_SOURCE_HOSTS": defaults["allowedSourceHosts"],
        "ALLOWED_ACS_RESOURCE_IDS": "/subscriptions/0/resourceGroups/rg/providers/"
        "Microsoft.Communication/communicationServices/acs",
        "SOURCE_RETENTION_HOURS": str(defaults["sourceRetentionHours"]),
        "AT_RISK_MARGIN_MINUTES": str(defaults["atRiskMarginMinutes"]),
        "DELETE_SOURCE_AFTER_ARCHIVE": "true" if defaults["deleteSourceAfterArchive"] else "false",
        "ACS_ENDPOINT": "https://acs.unitedstates.communication.azure.com",
        "AzureWebJobsStorage__accountName": "stexample",
        "AzureWebJobsStorage__queueServiceUri": "https://stexample.queue.core.windows.net",
    }
    loaded = settings.settings_from(env)
    loaded.require_archive_storage()
    loaded.require_host_storage()
    assert loaded.source_retention_hours == 24 and loaded.delete_source_after_archive is False
    assert loaded.acs_host == "acs.unitedstates.communication.azure.com"
    # The bounds infra enforces fit inside the model's.
    field = settings.Settings.model_fields["source_retention_hours"]
    le = next(m.le for m in field.metadata if getattr(m, "le", None) is not None)
    assert decorator(main, "sourceRetentionHours", "max_value") <= le
    # The URL the module builds has the shape ARCHIVE_STORAGE_ACCOUNT_URL needs (no trailing slash).
    archive_outputs = t["modules/archive-storage.bicep"]["outputs"]
    assert (
        archive_outputs["blobServiceUrl"]["value"]
        == "https://${storage.name}.blob.${environment().suffixes.storage}"
    )


# Role assignments -----------------------------------------------------------------------------


def _role_assignments(t: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for name, doc in t.items():
        for res_name, res in resources(doc, "Microsoft.Authorization/roleAssignments").items():
            config = body(res)
            props = config["properties"]
            role_ref = fn(props["roleDefinitionId"], "subscription_resource_id")
            assert role_ref["resource_type"] == "Microsoft.Authorization/roleDefinitions"
            role_var = role_ref["resource_name_1"]
            role = var(doc, role_var)
            if isinstance(role, dict):  # acsRoleIds[acsRoleName]
                op = role["operator"]
                assert op["type"] == "index_accessor"
                role = {unquote(k): v for k, v in var(doc, op["operands"]["operand_1"]).items()}
            scope = config["scope"]
            scope_type = doc["resources"][scope]["type"]
            found.append(
                {
                    "file": name,
                    "resource": res_name,
                    "scope": scope,
                    "scope_type": scope_type,
                    "role_var": role_var,
                    "role": role,
                    "principal": props["principalId"],
                    "principal_type": props["principalType"],
                    "guid": fn(config["name"], "guid"),
                    "condition": condition(res),
                }
            )
    return found


def test_role_assignments_are_named_guid_scope_principal_role(t: dict[str, dict[str, Any]]) -> None:
    assignments = _role_assignments(t)
    assert assignments
    for a in assignments:
        where = f"{a['file']}:{a['resource']}"
        assert accessor(a["guid"]["base_string"]) == [a["scope"], "id"], where
        assert a["guid"]["extra_string_1"] == a["principal"], where
        assert a["guid"]["extra_string_2"] == a["role_var"], where
        assert a["principal_type"] == "ServicePrincipal", where


def test_role_assignments_grant_only_what_the_code_needs(t: dict[str, dict[str, Any]]) -> None:
    got = {(a["file"], a["scope_type"], json.dumps(a["role"], sort_keys=True)) for a in _role_assignments(t)}
    acs_roles = json.dumps(
        {
            "Communication and Email Service Owner": COMMUNICATION_AND_EMAIL_SERVICE_OWNER,
            "Contributor": CONTRIBUTOR,
        },
        sort_keys=True,
    )
    storage = "Microsoft.Storage/storageAccounts"
    expected = {
        # App identity on the host storage: identity-based AzureWebJobsStorage and the job queue.
        ("modules/app-rbac.bicep", storage, json.dumps(STORAGE_BLOB_DATA_OWNER)),
        ("modules/app-rbac.bicep", storage, json.dumps(STORAGE_QUEUE_DATA_CONTRIBUTOR)),
        # App identity on the archive account.
        ("modules/app-rbac.bicep", storage, json.dumps(STORAGE_BLOB_DATA_CONTRIBUTOR)),
        # App identity publishes telemetry to App Insights with local auth disabled.
        ("modules/app-rbac.bicep", "Microsoft.Insights/components", json.dumps(MONITORING_METRICS_PUBLISHER)),
        # App identity queries ACS's call recording summary logs (hourly reconciliation).
        (
            "modules/app-rbac.bicep",
            "Microsoft.OperationalInsights/workspaces",
            json.dumps("73c42c96-874c-492b-b04d-ab87d138a893"),  # Log Analytics Reader
        ),
        # App identity downloads recordings from ACS (identity mode).
        ("modules/acs-access.bicep", "Microsoft.Communication/communicationServices", acs_roles),
        # App identity reads the one ACS connection-string secret (key mode).
        (
            "modules/keyvault-access.bicep",
            "Microsoft.KeyVault/vaults/secrets",
            json.dumps(KEY_VAULT_SECRETS_USER),
        ),
        # The system topic's identity writes dead-lettered events into the dead-letter container.
        (
            "modules/deadletter-rbac.bicep",
            "Microsoft.Storage/storageAccounts/blobServices/containers",
            json.dumps(STORAGE_BLOB_DATA_CONTRIBUTOR),
        ),
    }
    assert got == expected
    assert len(_role_assignments(t)) == len(expected)


def test_role_assignment_scopes_are_the_right_resources(t: dict[str, dict[str, Any]]) -> None:
    by_role = {(a["file"], a["role_var"]): a for a in _role_assignments(t)}
    rbac = t["modules/app-rbac.bicep"]

    def target(file: str, scope: str) -> Any:
        return body(t[file]["resources"][scope])["name"]

    assert target(
        "modules/app-rbac.bicep", by_role[("modules/app-rbac.bicep", "storageBlobDataOwner")]["scope"]
    ) == ("hostStorageName")
    assert target(
        "modules/app-rbac.bicep", by_role[("modules/app-rbac.bicep", "storageQueueDataContributor")]["scope"]
    ) == ("hostStorageName")
    assert target(
        "modules/app-rbac.bicep", by_role[("modules/app-rbac.bicep", "storageBlobDataContributor")]["scope"]
    ) == ("archiveStorageName")
    assert all(
        a["principal"] == "principalId" for (f, _), a in by_role.items() if f == "modules/app-rbac.bicep"
    )
    assert set(rbac["parameters"]) == {
        "principalId",
        "hostStorageName",
        "archiveStorageName",
        "applicationInsightsName",
        "logAnalyticsName",
    }
    assert target(
        "modules/app-rbac.bicep", by_role[("modules/app-rbac.bicep", "logAnalyticsReader")]["scope"]
    ) == ("logAnalyticsName")

    dead = by_role[("modules/deadletter-rbac.bicep", "storageBlobDataContributor")]
    assert dead["principal"] == "topicPrincipalId"
    assert target("modules/deadletter-rbac.bicep", dead["scope"]) == "deadLetterContainerName"

    main = t[MAIN]["modules"]
    assert accessor(body(main["deadLetterRbac"])["params"]["topicPrincipalId"]) == [
        "systemTopic",
        "outputs",
        "principalId",
    ]
    assert accessor(body(main["appRbac"])["params"]["principalId"]) == ["identity", "outputs", "principalId"]
    acs = by_role[("modules/acs-access.bicep", "acsRoleId")]
    assert acs["condition"]["operator"]["type"] == "not"  # only when a principal is given
    acs_principal = conditional(body(main["acsAccess"])["params"]["appPrincipalId"])
    assert acs_principal["condition"] == "useKeyAuth" and acs_principal["true_value"] == ""
    assert accessor(acs_principal["false_value"]) == ["identity", "outputs", "principalId"]


def test_acs_role_defaults_to_the_narrower_built_in_role(t: dict[str, dict[str, Any]]) -> None:
    for doc, name in ((t["modules/acs-access.bicep"], "acsRoleName"), (t[MAIN], "acsRoleName")):
        assert param(doc, name)["default"] == "Communication and Email Service Owner"
    roles = {unquote(k): v for k, v in var(t["modules/acs-access.bicep"], "acsRoleIds").items()}
    assert roles == {
        "Communication and Email Service Owner": COMMUNICATION_AND_EMAIL_SERVICE_OWNER,
        "Contributor": CONTRIBUTOR,
    }
    everything = json.dumps(list(every(t).values()))
    assert OWNER not in everything and USER_ACCESS_ADMINISTRATOR not in everything


def test_every_role_assignment_says_why_it_exists(t: dict[str, dict[str, Any]]) -> None:
    declared = 0
    for path in bicep_files():
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if re.match(r"\s*resource\s+\w+\s+'Microsoft\.Authorization/roleAssignments@", line, re.I):
                declared += 1
                assert i > 0 and lines[i - 1].lstrip().startswith("//"), (
                    f"{path.name}:{i + 1}: no comment saying why"
                )
    # Every role assignment the parser sees was found (and checked) here.
    assert declared == len(_role_assignments(t)) > 0


# Event Grid -----------------------------------------------------------------------------------


def test_system_topic_is_on_the_existing_acs_resource(t: dict[str, dict[str, Any]]) -> None:
    topic_doc = t["modules/event-grid-topic.bicep"]
    _, topic = the(topic_doc, "Microsoft.EventGrid/systemTopics")
    config = body(topic)
    assert config["location"] == "global"
    assert config["identity"] == {"type": "SystemAssigned"}
    assert config["properties"] == {
        "source": "acsId",
        "topicType": "Microsoft.Communication.CommunicationServices",
    }
    assert condition(topic)["operator"]["type"] == "not"  # not created when reusing one
    assert resources(topic_doc, "Microsoft.EventGrid/systemTopics", existing=True)
    assert param(t[MAIN], "useExistingSystemTopic")["default"] is False
    acs = t["modules/acs-access.bicep"]
    _, existing = the(acs, "Microsoft.Communication/communicationServices", existing=True)
    assert body(existing)["name"] == "acsName"
    assert not resources(acs, "Microsoft.Communication/communicationServices"), "never create or modify ACS"
    modules = t[MAIN]["modules"]
    assert (
        fn(body(modules["acsAccess"])["scope"], "resource_group")["resource_group_name"]
        == "acsResourceGroupName"
    )


def test_event_subscription_filters_retries_and_dead_letters(t: dict[str, dict[str, Any]]) -> None:
    doc = t[SUBSCRIPTION]
    _, sub = the(doc, "Microsoft.EventGrid/systemTopics/eventSubscriptions")
    props = body(sub)["properties"]
    assert props["filter"]["includedEventTypes"] == [RECORDING_EVENT]
    assert props["eventDeliverySchema"] == "EventGridSchema"
    assert props["retryPolicy"]["maxDeliveryAttempts"] == 30
    ttl = fn(props["retryPolicy"]["eventTimeToLiveInMinutes"], "min")
    assert ttl["arg_2"] == 1440
    product = ttl["arg_1"]["operator"]
    assert product["type"] == "multiply" and product["operands"] == {
        "operand_1": "sourceRetentionHours",
        "operand_2": 60,
    }

    destination = props["destination"]
    assert destination["endpointType"] == "AzureFunction"
    assert destination["properties"]["resourceId"] == "${functionAppId}/functions/${functionName}"
    assert var(doc, "functionName") == INGRESS_FUNCTION
    assert destination["properties"]["maxEventsPerBatch"] == 1

    dead = props["deadLetterWithResourceIdentity"]
    assert dead["identity"] == {"type": "SystemAssigned"}
    assert dead["deadLetterDestination"] == {
        "endpointType": "StorageBlob",
        "properties": {
            "resourceId": "archiveStorageAccountId",
            "blobContainerName": "deadLetterContainerName",
        },
    }
    assert "deadLetterDestination" not in props, "dead-letter with the topic identity, not keys"


def test_event_subscription_targets_a_function_the_app_defines(
    function_app_functions: dict[str, Any],
) -> None:
    assert function_app_functions[INGRESS_FUNCTION]["type"] == "eventGridTrigger"


def test_event_subscription_is_a_second_phase(t: dict[str, dict[str, Any]]) -> None:
    main = t[MAIN]
    module = main["modules"]["eventSubscription"]
    assert module["detail"]["path"] == SUBSCRIPTION
    assert condition(module) == "deployEventSubscription"
    assert param(main, "deployEventSubscription")["default"] is False
    assert fn(body(module)["scope"], "resource_group")["resource_group_name"] == "topicResourceGroupName"

    yaml_text = (ROOT / "azure.yaml").read_text(encoding="utf-8")
    hooks = yaml_text.split("\nhooks:", 1)[1]
    assert re.search(r"^  postdeploy:\n", hooks, re.M)
    scripts = re.findall(r"run: \./(\S+)", hooks)
    assert sorted(scripts) == ["infra/hooks/postdeploy.ps1", "infra/hooks/postdeploy.sh"]
    for script in scripts:
        assert (ROOT / script).is_file()
    assert os.access(ROOT / "infra/hooks/postdeploy.sh", os.X_OK)

    outputs = set(main["outputs"])
    sub_params = t[SUBSCRIPTION]["parameters"]
    required = {name for name, p in sub_params.items() if p.get("default") is None}
    for script in scripts:
        code = (ROOT / script).read_text(encoding="utf-8")
        assert "az deployment group create" in code and "subscription.bicep" in code
        passed = set(re.findall(r"(\w+)=\"?\$(?:env:)?\{?[A-Z]", code))
        assert required <= passed <= set(sub_params), f"{script}: passes {passed}"
        env_ref = r"\$env:([A-Z][A-Z0-9_]+)" if script.endswith(".ps1") else r"\$\{?([A-Z][A-Z0-9_]+)"
        used = set(re.findall(env_ref, code))
        assert used, script
        env_only = {"AZURE_SUBSCRIPTION_ID", "DEPLOY_EVENT_SUBSCRIPTION"}
        assert used - env_only <= outputs, (
            f"{script}: {used - env_only - outputs} are not outputs of main.bicep"
        )


def test_azure_yaml_declares_the_archiver_function_service() -> None:
    yaml_text = (ROOT / "azure.yaml").read_text(encoding="utf-8")
    service = re.search(r"^services:\n  archiver:\n((?:    .*\n)+)", yaml_text, re.M)
    assert service, "service 'archiver' missing"
    fields = dict(re.findall(r"^    (\w+): (\S+)$", service.group(1), re.M))
    assert fields == {"project": ".", "language": "python", "host": "function"}
    assert re.search(r"^infra:\n  provider: bicep\n  path: infra\n", yaml_text, re.M)


# Monitoring -----------------------------------------------------------------------------------


def test_application_insights_is_workspace_based_without_local_auth(t: dict[str, dict[str, Any]]) -> None:
    doc = t["modules/monitoring.bicep"]
    _, ai = the(doc, "Microsoft.Insights/components")
    props = body(ai)["properties"]
    assert props["DisableLocalAuth"] is True
    assert accessor(props["WorkspaceResourceId"]) == ["logAnalytics", "id"]
    _, workspace = the(doc, "Microsoft.OperationalInsights/workspaces")
    assert body(workspace)["properties"]["features"]["disableLocalAuth"] is True


def test_alerts_cover_rejected_failed_at_risk_and_dead_lettered(t: dict[str, dict[str, Any]]) -> None:
    doc = t["modules/alerts.bicep"]
    markers = {alert["marker"] for alert in var(doc, "logAlerts")}
    assert {logs.REJECTED, logs.FAILED, logs.AT_RISK, logs.MISSING, logs.INTEGRITY} <= markers
    assert markers <= {value for name, value in vars(logs).items() if name.isupper()}, "unknown marker"

    _, rules = the(doc, "Microsoft.Insights/scheduledQueryRules")
    assert rules["config"]["loop_type"]["detail"] == {"item_name": "alert", "array_name": "logAlerts"}
    props = body(rules)["properties"]
    [criterion] = props["criteria"]["allOf"]
    assert criterion["query"] == 'AppTraces | where Message has "${alert.marker}"${alert.also}'
    also = {alert["marker"]: alert["also"] for alert in var(doc, "logAlerts")}
    assert also.pop(logs.INTEGRITY) == ' and Message has "intact=false"'  # a clean check is no alert
    assert set(also.values()) == {""}
    assert (criterion["operator"], criterion["threshold"]) == ("GreaterThan", 0)
    assert props["scopes"] == ["logAnalyticsId"]

    metrics = {alert["metric"] for alert in var(doc, "topicMetrics")}
    assert "DeadLetteredCount" in metrics
    _, metric_rules = the(doc, "Microsoft.Insights/metricAlerts")
    mprops = body(metric_rules)["properties"]
    assert mprops["scopes"] == ["systemTopicId"]
    [mcrit] = mprops["criteria"]["allOf"]
    assert mcrit["metricNamespace"] == "Microsoft.EventGrid/systemTopics"
    assert (mcrit["operator"], mcrit["threshold"], mcrit["timeAggregation"]) == ("GreaterThan", 0, "Total")
    assert accessor(body(t[MAIN]["modules"]["alerts"])["params"]["systemTopicId"]) == [
        "systemTopic",
        "outputs",
        "id",
    ]


# Secrets --------------------------------------------------------------------------------------

SECRET_PATTERNS = [
    re.compile(r"AccountKey\s*=", re.I),
    re.compile(r"accesskey\s*=", re.I),
    re.compile(r"SharedAccessSignature", re.I),
    re.compile(r"[?&;]sig=", re.I),
    re.compile(r"\bsig=", re.I),
    re.compile(r"InstrumentationKey\s*=", re.I),
]
# A run of base64 characters is secret-looking when it ends in padding or when a piece of it
# between slashes is long and mixes digits and both cases (paths like a/b/c do not).
BASE64_RUN = re.compile(r"(?<![A-Za-z0-9+/=_.-])[A-Za-z0-9+/]{24,}={0,2}(?![A-Za-z0-9+/=_.-])")


def _looks_like_key(run: str) -> bool:
    if run.endswith("=") and len(run) >= 24:
        return True
    return any(
        len(piece) >= 24
        and re.search(r"\d", piece)
        and re.search(r"[a-z]", piece)
        and re.search(r"[A-Z]", piece)
        for piece in re.split(r"/", run)
    )


def secret_looking(content: str) -> list[str]:
    hits = [m.group(0) for pattern in SECRET_PATTERNS for m in pattern.finditer(content)]
    return hits + [m.group(0) for m in BASE64_RUN.finditer(content) if _looks_like_key(m.group(0))]


def _infra_texts() -> dict[str, str]:
    files = [p for p in INFRA.rglob("*") if p.is_file()] + [ROOT / "azure.yaml"]
    texts = {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8") for p in files}
    expected = {f"infra/{name}" for name in EXPECTED_FILES} | {
        "infra/abbreviations.json",
        "infra/main.parameters.json",
        "infra/hooks/postdeploy.sh",
        "infra/hooks/postdeploy.ps1",
        "azure.yaml",
    }
    assert expected <= set(texts), f"not scanned: {expected - set(texts)}"
    return texts


def test_no_secret_literals_anywhere_in_infra() -> None:
    texts = _infra_texts()
    for name, content in texts.items():
        assert not secret_looking(content), f"{name}: secret-looking text {secret_looking(content)}"


def test_secret_scanner_catches_what_it_should() -> None:
    samples = [
        "endpoint=https://x.communication.azure.com/;accesskey=abc",
        "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc",
        "https://x.blob.core.windows.net/c?sv=2022&sig=abc",
        "SharedAccessSignature=sv=1",
        "key: 'q2dKZ3B0cW9LbmRzQ0pTVWFjc0pSZ1RVZ0N4bXc9PQ=='",
        "value: 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFla'",
    ]
    for sample in samples:
        assert secret_looking(sample), sample
    harmless = [
        "'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15'",
        "roleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'",
        "'${functionAppId}/functions/${functionName}'",
    ]
    for sample in harmless:
        assert not secret_looking(sample), sample


# Parameters whose name sounds secret and whose value is not one (or only names/locates one).
SECRET_SOUNDING = re.compile(r"key|secret|password|connectionString|sas|credential", re.I)
NOT_SECRETS = {
    # Identifies the resource; with local auth disabled, ingestion needs the app identity
    # (APPLICATIONINSIGHTS_AUTHENTICATION_STRING), so it grants nothing on its own.
    ("modules/function-app.bicep", "applicationInsightsConnectionString"),
}


def test_keys_are_never_read_into_a_deployment(t: dict[str, dict[str, Any]]) -> None:
    """The one secret, the ACS connection string of key mode, stays in Key Vault and reaches the
    app as a Key Vault reference: no deployment lists keys, takes a secret or outputs one."""
    for name, content in _infra_texts().items():
        assert not re.search(r"\blist(Keys|ConnectionStrings|AccountSas|ServiceSas)\(", content), name
    secure = {
        (name, pname)
        for name, doc in every(t).items()
        for pname, p in doc.get("parameters", {}).items()
        if any(d["type"] == "secure" for d in p["decorators"])
    }
    assert not secure, f"a secret passed as a parameter (keep it in Key Vault): {secure}"
    sounding = {
        (name, pname)
        for name, doc in every(t).items()
        for pname in doc.get("parameters", {})
        if SECRET_SOUNDING.search(pname)
    }
    # The search finds the parameters that name the secret (and the known non-secrets).
    assert {
        (MAIN, "acsConnectionStringSecretName"),
        ("modules/keyvault-access.bicep", "secretName"),
    } <= sounding
    assert sounding >= NOT_SECRETS
    for name, pname in sorted(sounding - NOT_SECRETS):
        assert re.search(r"(Name|Uri)$", pname), f"{name}: parameter {pname} looks like it carries a secret"
    outputs = [(name, oname) for name, doc in every(t).items() for oname in doc.get("outputs", {})]
    assert len(outputs) >= len(t[MAIN]["outputs"]) > 0
    for name, oname in outputs:
        assert not re.search(r"key|secret|password|sas", oname, re.I) or oname == "secretUri", (name, oname)


# Documentation --------------------------------------------------------------------------------

DEPLOY_ANCHOR = "deploy"  # README.md#deploy, the "## Deploy" heading


def _markdown_lines(path: Path) -> list[str]:
    """The lines of a Markdown file outside fenced code blocks."""
    lines, fence = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        marker = re.match(r"\s*(```|~~~)", line)
        if marker and (not fence or marker.group(1) == fence):
            fence = "" if fence else marker.group(1)
        elif not fence:
            lines.append(line)
    return lines


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    heading = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())  # [text](url) -> text
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    anchors: set[str] = set()
    for line in _markdown_lines(path):
        heading = re.match(r"#{1,6}\s+(.*?)(?:\s+#+)?\s*$", line)
        if heading:
            slug = base = _slug(heading.group(1))
            n = 0
            while slug in anchors:  # GitHub numbers repeated headings: x, x-1, x-2
                n += 1
                slug = f"{base}-{n}"
            anchors.add(slug)
    return anchors


def _deploy_docs() -> str:
    """The README's Deploy section, up to the next second-level heading."""
    lines = _markdown_lines(README)
    assert "## Deploy" in lines, "no '## Deploy' heading in README.md"
    start = lines.index("## Deploy") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join(lines[start:end])


def test_every_parameter_is_documented(t: dict[str, dict[str, Any]]) -> None:
    docs = _deploy_docs()
    assert "| `environmentName` |" in docs, "the parameter table is not in the Deploy section"
    mapped = json.loads(text("main.parameters.json"))["parameters"]
    for name in t[MAIN]["parameters"]:
        variable = re.match(r"\$\{([A-Z0-9_]+)", mapped[name]["value"]).group(1)  # type: ignore[union-attr]
        assert f"| `{name}` | `{variable}` |" in docs, (
            f"parameter {name} ({variable}) missing from the Deploy docs"
        )


def _bicep_comments(code: str) -> list[str]:
    """The text of every ``//`` and ``/* */`` comment, skipping string literals ('...//...')."""
    comments, i, n = [], 0, len(code)
    while i < n:
        if code.startswith("'''", i):
            end = code.find("'''", i + 3)
            i = n if end < 0 else end + 3
        elif code[i] == "'":
            i += 1
            while i < n and code[i] not in "'\n":
                i += 2 if code[i] == "\\" else 1
            i += 1
        elif code.startswith("//", i):
            end = code.find("\n", i)
            end = n if end < 0 else end
            comments.append(code[i + 2 : end])
            i = end
        elif code.startswith("/*", i):
            end = code.find("*/", i + 2)
            end = n if end < 0 else end
            comments.append(code[i + 2 : end])
            i = end + 2
        else:
            i += 1
    return comments


def _hash_comments(code: str) -> list[str]:
    """``# ...`` comments (YAML, shell, PowerShell), whole-line or after whitespace."""
    return [m.group(1) for m in re.finditer(r"(?:^|[ \t])#(.*)$", code, re.M)]


# A path to a Markdown file (optionally with #anchor) or under docs/; URLs are removed first.
DOC_LINK = re.compile(
    r"(?<![\w/.-])((?:\.\.?/)*(?:[\w.-]+/)*[\w.-]+\.md(?![\w-])|(?:\.\.?/)*docs(?:/[\w.-]*[\w-])+)(?:#([\w-]+))?"
)


def _doc_links(comment: str) -> list[tuple[str, str | None]]:
    return [(m.group(1), m.group(2)) for m in DOC_LINK.finditer(re.sub(r"\b\w+://\S+", " ", comment))]


def _infra_doc_links() -> list[tuple[Path, str, str | None]]:
    """(file, link, anchor) for each documentation link in comments of azure.yaml and infra/."""
    found = []
    for path in [ROOT / "azure.yaml", *sorted(INFRA.rglob("*"))]:
        if path.suffix == ".bicep":
            comments = _bicep_comments(path.read_text(encoding="utf-8"))
        elif path.suffix in {".yaml", ".sh", ".ps1"}:
            comments = _hash_comments(path.read_text(encoding="utf-8"))
        else:
            continue
        found += [(path, link, anchor) for comment in comments for link, anchor in _doc_links(comment)]
    return found


def test_documentation_links_in_infra_resolve() -> None:
    """A link in azure.yaml or an infra comment (``README.md#deploy``, ``docs/x.md``) names a file
    that exists: relative to the repository root, or to the file for ``./`` and ``../``; and a
    Markdown anchor names a heading of that file."""
    links = _infra_doc_links()
    linked_from = {path.relative_to(ROOT).as_posix() for path, _, _ in links}
    # Both point at README.md#deploy: the scan finds links where there are some.
    assert {"azure.yaml", "infra/main.bicep"} <= linked_from, f"links found only in {sorted(linked_from)}"
    for path, link, anchor in links:
        where = f"{path.relative_to(ROOT)}: {link}" + (f"#{anchor}" if anchor else "")
        target = (path.parent if link.startswith(".") else ROOT) / link
        assert target.exists(), f"{where}: {os.path.relpath(target, ROOT)} does not exist"
        if anchor is not None:
            assert target.suffix == ".md", f"{where}: an anchor in a file that is not Markdown"
            assert anchor in _anchors(target), f"{where}: no heading with that anchor"


def test_the_deploy_anchor_is_the_readme_deploy_heading() -> None:
    assert DEPLOY_ANCHOR in _anchors(README)
    assert _deploy_docs().strip(), "the Deploy section is empty"


def test_documentation_link_scanner_catches_what_it_should() -> None:
    bicep = (
        "// See README.md#deploy and docs/deploy.md.\n"
        "var u = 'https://example.com/docs/x.md' // not a link: ../notes/ops.md#run-it\n"
        "/* block: docs/a/b.md */\n"
        "var w = 'a // b README.md'\n"
    )
    comments = _bicep_comments(bicep)
    links = [link for comment in comments for link in _doc_links(comment)]
    assert links == [
        ("README.md", "deploy"),
        ("docs/deploy.md", None),
        ("../notes/ops.md", "run-it"),
        ("docs/a/b.md", None),
    ]
    yaml = "# yaml-language-server: $schema=https://x/y/schema.md\nname: x # see docs/deploy\n"
    assert [link for c in _hash_comments(yaml) for link in _doc_links(c)] == [("docs/deploy", None)]
    assert _slug("Deploy with `azd up`") == "deploy-with-azd-up"
    assert _slug("Where things go (archive storage account)") == "where-things-go-archive-storage-account"
    assert _slug("See [Permissions](#permissions)") == "see-permissions"
