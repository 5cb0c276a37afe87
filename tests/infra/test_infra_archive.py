"""The archive account: the containers the write-once app uses, WORM in its three modes, the
lifecycle rules, the teardown lock, and what the app's identity may and may not do.

Sources: Azure Storage "Immutable storage for Azure Blob Storage" (only a locked time-based
policy or a legal hold stops the account from being deleted; a locked policy is what SEC
17a-4(f) needs), the container property immutableStorageWithVersioning ("can only be set to
true at the container creation time; existing containers must undergo a migration process"),
"Authorize with Microsoft Entra ID (REST API)" (Set Blob Legal Hold needs
.../blobServices/containers/write; Set and Delete Blob Immutability Policy need
.../containers/blobs/immutableStorage/runAsSuperUser/action) and the built-in role definitions.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from archiver import settings
from tests.infra.bicep_support import (
    ARCHIVE,
    INFRA,
    MAIN,
    README,
    ROOT,
    SUBSCRIPTION,
    accessor,
    body,
    condition,
    conditional,
    decorator,
    deploy_section,
    deployed,
    evaluate,
    fn,
    param,
    resources,
    text,
    the,
    var,
)

CONTAINERS = "Microsoft.Storage/storageAccounts/blobServices/containers"
POLICIES = "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies"
DEAD_LETTER_CONTAINER = "eventgrid-deadletter"


def _container_names(doc: dict[str, Any]) -> dict[str, str]:
    """Container symbol -> its name (a variable, or a parameter's default)."""
    names = {}
    for symbol, container in resources(doc, CONTAINERS).items():
        raw = body(container)["name"]
        names[symbol] = var(doc, raw) if raw in doc.get("variables", {}) else param(doc, raw)["default"]
    return names


def test_archive_account_has_the_containers_the_app_uses(t: dict[str, dict[str, Any]]) -> None:
    """Every *_CONTAINER the app fixes in archiver/settings.py, the archive container and the
    dead-letter container: a container the code adds later fails here until infra has it."""
    app = {value for name, value in vars(settings).items() if name.endswith("_CONTAINER")}
    assert {"archive-staging", "audit", "legal-holds", "participant-index"} <= app
    default_archive = settings.Settings.model_fields["archive_container"].default
    assert set(_container_names(t[ARCHIVE]).values()) == app | {default_archive, DEAD_LETTER_CONTAINER}
    assert param(t[MAIN], "archiveContainerName")["default"] == default_archive
    assert var(t[MAIN], "deadLetterContainerName") == DEAD_LETTER_CONTAINER
    assert param(t[SUBSCRIPTION], "deadLetterContainerName")["default"] == DEAD_LETTER_CONTAINER


def test_lifecycle_tiers_archived_media_and_clears_versions_and_stale_staging(
    t: dict[str, dict[str, Any]],
) -> None:
    archive = t[ARCHIVE]
    _, policy = the(archive, "Microsoft.Storage/storageAccounts/managementPolicies")
    rules = fn(body(policy)["properties"]["policy"]["rules"], "concat")
    assert conditional(rules["arg_1"]) == {
        "condition": "hasRecordingActions",
        "true_value": ["recordingRule"],
        "false_value": [],
    }
    assert rules["arg_2"] == ["previousVersionRule", "stagingRule"]

    rule = var(archive, "recordingRule")
    assert rule["definition"]["filters"]["prefixMatch"] == ["${archiveContainerName}/"]
    assert rule["definition"]["filters"]["blobTypes"] == ["blockBlob"]
    assert rule["definition"]["actions"]["baseBlob"] == "recordingActions"
    steps = {}
    for arg in fn(var(archive, "recordingActions"), "union").values():
        branch = conditional(arg)
        assert branch["false_value"] == {}
        steps.update(var(archive, branch["true_value"]))
    assert steps == {
        "tierToCool": {"daysAfterModificationGreaterThan": "coolAfterDays"},
        "tierToCold": {"daysAfterModificationGreaterThan": "coldAfterDays"},
        "tierToArchive": {"daysAfterModificationGreaterThan": "archiveAfterDays"},
        "delete": {"daysAfterModificationGreaterThan": "deleteAfterDays"},
    }
    # Parameterised ages, in order; deletion is opt-in.
    defaults = [param(archive, p)["default"] for p in ("coolAfterDays", "coldAfterDays", "archiveAfterDays")]
    assert defaults == sorted(defaults) and defaults[0] > 0
    assert param(archive, "deleteAfterDays")["default"] == 0

    versions = var(archive, "previousVersionRule")["definition"]["actions"]["version"]
    assert versions == {"delete": {"daysAfterCreationGreaterThan": "previousVersionRetentionDays"}}

    # Abandoned staging copies (and the versions their re-commits left) go after 7 days.
    staging = var(archive, "stagingRule")["definition"]
    assert staging["filters"]["prefixMatch"] == ["${stagingContainerName}/"]
    assert var(archive, "stagingContainerName") == settings.STAGING_CONTAINER
    assert staging["actions"] == {
        "baseBlob": {"delete": {"daysAfterModificationGreaterThan": "stagingRetentionDays"}},
        "version": {"delete": {"daysAfterCreationGreaterThan": "stagingRetentionDays"}},
    }
    assert var(archive, "stagingRetentionDays") == 7


# WORM ------------------------------------------------------------------------------------------

WORM_MODES = [
    ("none", False),
    ("container", False),
    ("version", False),
    ("container", True),
    ("version", True),
]


def test_immutability_parameters(t: dict[str, dict[str, Any]]) -> None:
    main, archive = t[MAIN], t[ARCHIVE]
    for doc in (main, archive):
        assert set(decorator(doc, "immutability", "allowed")) == {"none", "container", "version"}
        assert param(doc, "immutability")["default"] == "none"
        assert decorator(doc, "immutabilityRetentionDays", "min_value") == 1
        assert decorator(doc, "immutabilityRetentionDays", "max_value") == 146000
        assert param(doc, "immutabilityLocked")["default"] is False
    assert "immutabilityPeriodDays" not in main["parameters"], "replaced by immutability*"
    passed = body(main["modules"]["archiveStorage"])["params"]
    for name in ("immutability", "immutabilityRetentionDays", "immutabilityLocked"):
        assert passed[name] == name


@pytest.mark.parametrize(("mode", "locked"), WORM_MODES)
def test_worm_modes(t: dict[str, dict[str, Any]], mode: str, locked: bool) -> None:
    archive = t[ARCHIVE]
    given = {"immutability": mode, "immutabilityLocked": locked}
    containers = _container_names(archive)
    policies = resources(archive, POLICIES)
    written = {containers[body(p)["parent"]] for p in policies.values() if deployed(archive, p, given)}
    # An unlocked policy on the archive container and on the audit container; once locked, the
    # template stops writing them (Azure refuses to update a locked policy).
    expected = set() if mode == "none" or locked else {"recordings", settings.AUDIT_CONTAINER}
    assert written == expected
    for policy in policies.values():
        props = body(policy)["properties"]
        assert props == {
            "immutabilityPeriodSinceCreationInDays": "immutabilityRetentionDays",
            "allowProtectedAppendWrites": False,
        }
        assert body(policy)["name"] == "default"
    # Version-level WORM is switched on when the archive container is created, in version mode.
    version_level = {
        containers[symbol]: evaluate(body(c)["properties"]["immutableStorageWithVersioning"], archive, given)
        for symbol, c in resources(archive, CONTAINERS).items()
        if "immutableStorageWithVersioning" in body(c)["properties"]
    }
    # Left out (null) otherwise: Azure cannot switch it on for an existing container, nor off.
    assert version_level == {"recordings": {"enabled": True} if mode == "version" else None}
    _, service = the(archive, "Microsoft.Storage/storageAccounts/blobServices")
    assert body(service)["properties"]["isVersioningEnabled"] is True, "version-level WORM needs versioning"


def test_staging_and_hold_records_are_never_immutable(t: dict[str, dict[str, Any]]) -> None:
    archive = t[ARCHIVE]
    containers = _container_names(archive)
    protected = {containers[body(p)["parent"]] for p in resources(archive, POLICIES).values()}
    assert protected == {"recordings", settings.AUDIT_CONTAINER}
    assert settings.STAGING_CONTAINER not in protected and settings.HOLDS_CONTAINER not in protected


def test_nothing_in_infra_locks_or_deletes_a_policy_by_itself(t: dict[str, dict[str, Any]]) -> None:
    """ARM cannot lock a policy (a POST with its ETag); only the postdeploy hook does, and only
    when asked (IMMUTABILITY_LOCKED=true). No template deletes or extends one."""
    for path in INFRA.rglob("*.bicep"):
        code = path.read_text(encoding="utf-8")
        assert not re.search(r"immutabilityPolicies/(lock|extend)|'Locked'", code), path.name
    hooks = [INFRA / "hooks" / "postdeploy.sh", INFRA / "hooks" / "postdeploy.ps1"]
    for hook in hooks:
        code = hook.read_text(encoding="utf-8")
        assert "immutability-policy lock" in code and "immutability-policy delete" not in code
        assert "immutability-policy extend" not in code
        assert "ARCHIVE_IMMUTABILITY_LOCKED" in code
    outputs = t[MAIN]["outputs"]
    assert outputs["ARCHIVE_IMMUTABILITY_LOCKED"]["value"] == "immutabilityLocked"
    assert outputs["ARCHIVE_IMMUTABILITY"]["value"] == "immutability"
    assert accessor(outputs["ARCHIVE_AUDIT_CONTAINER"]["value"]) == [
        "archiveStorage",
        "outputs",
        "auditContainerName",
    ]


# The lock step of the postdeploy hook, against a fake `az` ---------------------------------

FAKE_AZ = """#!/bin/sh
echo "az $*" >> "$FAKE_AZ_LOG"
case "$*" in
    *"immutability-policy show"*"--query etag"*) echo '"0x8DETAG"' ;;
    *"immutability-policy show"*)
        [ -n "$FAKE_POLICY" ] || exit 3
        printf '%s\\t%s\\n' "$FAKE_POLICY" "$FAKE_DAYS" ;;
esac
exit 0
"""


def _run_hook(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "az"
    fake.write_text(FAKE_AZ, encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "az.log"
    base = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_AZ_LOG": str(log),
        "FAKE_POLICY": "Unlocked",
        "FAKE_DAYS": "2557",
        "DEPLOY_EVENT_SUBSCRIPTION": "true",  # stop after the lock step
        "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000000",
        "AZURE_RESOURCE_GROUP": "rg-archiver",
        "ARCHIVE_STORAGE_ACCOUNT_NAME": "starcexample",
        "ARCHIVE_CONTAINER": "recordings",
        "ARCHIVE_AUDIT_CONTAINER": "audit",
    }
    result = subprocess.run(
        ["sh", str(INFRA / "hooks" / "postdeploy.sh")],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    calls = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return result, calls


def _locks(calls: list[str]) -> list[str]:
    return [call for call in calls if "immutability-policy lock" in call]


@pytest.mark.parametrize(
    ("immutability", "locked"), [("none", "false"), ("container", "false"), ("none", "true"), ("version", "")]
)
def test_hook_locks_nothing_unless_asked(tmp_path: Path, immutability: str, locked: str) -> None:
    result, calls = _run_hook(tmp_path, ARCHIVE_IMMUTABILITY=immutability, ARCHIVE_IMMUTABILITY_LOCKED=locked)
    assert result.returncode == 0, result.stderr
    assert calls == [], "no az call at all"


@pytest.mark.parametrize("immutability", ["container", "version"])
def test_hook_locks_both_policies_with_their_etag_when_asked(tmp_path: Path, immutability: str) -> None:
    result, calls = _run_hook(tmp_path, ARCHIVE_IMMUTABILITY=immutability, ARCHIVE_IMMUTABILITY_LOCKED="true")
    assert result.returncode == 0, result.stderr
    locks = _locks(calls)
    assert len(locks) == 2
    for container, call in zip(("recordings", "audit"), locks, strict=True):
        assert f"--container-name {container} " in call and '--if-match "0x8DETAG"' in call
        assert "--account-name starcexample" in call and "--resource-group rg-archiver" in call
    assert "irreversible" in result.stdout


def test_hook_leaves_a_locked_policy_alone(tmp_path: Path) -> None:
    result, calls = _run_hook(
        tmp_path, ARCHIVE_IMMUTABILITY="container", ARCHIVE_IMMUTABILITY_LOCKED="true", FAKE_POLICY="Locked"
    )
    assert result.returncode == 0, result.stderr
    assert not _locks(calls)


@pytest.mark.parametrize(("policy", "days"), [("", "0"), ("Unlocked", "0")])
def test_hook_refuses_when_there_is_no_policy_to_lock(tmp_path: Path, policy: str, days: str) -> None:
    result, calls = _run_hook(
        tmp_path,
        ARCHIVE_IMMUTABILITY="container",
        ARCHIVE_IMMUTABILITY_LOCKED="true",
        FAKE_POLICY=policy,
        FAKE_DAYS=days,
    )
    assert result.returncode != 0
    assert "IMMUTABILITY_LOCKED=false" in result.stderr
    assert not _locks(calls)


# Teardown protection ---------------------------------------------------------------------------


@pytest.mark.parametrize("isolated", [False, True])
@pytest.mark.parametrize("wanted", [True, False])
def test_the_archive_account_carries_a_delete_lock_by_default(
    t: dict[str, dict[str, Any]], isolated: bool, wanted: bool
) -> None:
    archive = t[ARCHIVE]
    _, lock = the(archive, "Microsoft.Authorization/locks")
    config = body(lock)
    assert config["scope"] == "storage"
    assert config["properties"]["level"] == "CanNotDelete"
    assert condition(lock) == "deleteLock"
    assert deployed(archive, lock, {"deleteLock": wanted, "networkIsolation": isolated}) is wanted
    assert param(archive, "deleteLock")["default"] is True
    main = t[MAIN]
    assert param(main, "archiveDeleteLock")["default"] is True
    assert body(main["modules"]["archiveStorage"])["params"]["deleteLock"] == "archiveDeleteLock"
    assert accessor(main["outputs"]["ARCHIVE_DELETE_LOCK_NAME"]["value"]) == [
        "archiveStorage",
        "outputs",
        "deleteLockName",
    ]


def test_readme_names_the_lock_and_how_to_remove_it(t: dict[str, dict[str, Any]]) -> None:
    lock_name = var(t[ARCHIVE], "lockName")
    readme = deploy_section()
    assert f"--name {lock_name}" in readme, "README shows how to delete the lock by its name"
    assert "az lock delete" in readme and "azd down" in readme


# What the app's identity may do on the archive --------------------------------------------

# The built-in role definitions (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage).
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
ROLE_PERMISSIONS = {
    STORAGE_BLOB_DATA_CONTRIBUTOR: {
        "actions": {
            "Microsoft.Storage/storageAccounts/blobServices/containers/delete",
            "Microsoft.Storage/storageAccounts/blobServices/containers/read",
            "Microsoft.Storage/storageAccounts/blobServices/containers/write",
            "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        },
        "dataActions": {
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
        },
    },
}
# Authorize with Microsoft Entra ID (REST API), permissions for Blob service operations.
SET_BLOB_LEGAL_HOLD = "Microsoft.Storage/storageAccounts/blobServices/containers/write"
SET_OR_DELETE_BLOB_IMMUTABILITY_POLICY = (
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/immutableStorage/runAsSuperUser/action"
)


def _archive_roles(t: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Role assignment symbol -> role id, for every assignment on (or in) the archive account."""
    found = {}
    for name, doc in t.items():
        for symbol, assignment in resources(doc, "Microsoft.Authorization/roleAssignments").items():
            config = body(assignment)
            scope = doc["resources"][config["scope"]]
            chain = [config["scope"]]
            while "parent" in body(doc["resources"][chain[-1]]):
                chain.append(body(doc["resources"][chain[-1]])["parent"])
            account = body(doc["resources"][chain[-1]])["name"]
            if scope["type"].startswith("Microsoft.Storage") and account == "archiveStorageName":
                role = fn(config["properties"]["roleDefinitionId"], "subscription_resource_id")[
                    "resource_name_1"
                ]
                found[f"{name}:{symbol}"] = var(doc, role)
    return found


def test_the_app_can_hold_but_never_change_or_remove_retention(t: dict[str, dict[str, Any]]) -> None:
    roles = _archive_roles(t)
    assert roles == {
        "modules/app-rbac.bicep:archiveBlobContributor": STORAGE_BLOB_DATA_CONTRIBUTOR,
        "modules/deadletter-rbac.bicep:topicDeadLetterWriter": STORAGE_BLOB_DATA_CONTRIBUTOR,
    }
    granted = ROLE_PERMISSIONS[STORAGE_BLOB_DATA_CONTRIBUTOR]
    # Set Blob Legal Hold (the hold commands) is containers/write: granted.
    assert SET_BLOB_LEGAL_HOLD in granted["actions"]
    # Setting or deleting a blob's immutability policy: not granted; nor any wildcard that would.
    assert SET_OR_DELETE_BLOB_IMMUTABILITY_POLICY not in granted["dataActions"]
    assert not any(a.endswith("*") for perms in granted.values() for a in perms)
    # Container policies (create, delete, lock, extend) are ARM actions under
    # .../containers/immutabilityPolicies: not in the role either; nor is removing the lock.
    assert not any("immutabilityPolicies" in a or "Microsoft.Authorization" in a for a in granted["actions"])
    # The app's role covers the whole account, so it reads archive-staging (the source of its
    # server-side Put Block From URL copy) and writes the archive, audit and hold containers.
    rbac = t["modules/app-rbac.bicep"]
    assert body(rbac["resources"]["archiveBlobContributor"])["scope"] == "archiveStorage"
    assert not resources(t["modules/app-rbac.bicep"], "Microsoft.Authorization/roleDefinitions")


def test_readme_explains_modes_locking_and_the_hold_permission() -> None:
    readme = deploy_section()
    for fact in (
        "`IMMUTABILITY`",
        "`IMMUTABILITY_RETENTION_DAYS`",
        "`IMMUTABILITY_LOCKED`",
        "irreversible",
        "Set Blob Legal Hold",
        "runAsSuperUser",
        "archive-staging",
        "migrat",
    ):
        assert fact in readme, fact


def test_no_known_limitation_about_worm_is_left() -> None:
    """The app writes each archived object once now (issue 9): WORM works."""
    assert "Leave `immutabilityPeriodDays` at 0" not in README.read_text(encoding="utf-8")
    assert (ROOT / "README.md").exists()
    assert "IMMUTABILITY_PERIOD_DAYS" not in text("main.parameters.json")
