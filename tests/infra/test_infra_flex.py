"""Flex Consumption accepts fewer site properties than the other plans, and recent Bicep warns
(BCP318) on reads of conditional resources. Neither parser sees either problem, so both are
asserted here.

Microsoft's list of what Flex Consumption does not support, "Flex Consumption plan
deprecations" in the app settings reference:
https://learn.microsoft.com/azure/azure-functions/functions-app-settings#flex-consumption-plan-deprecations
(MicrosoftDocs/azure-docs, articles/azure-functions/functions-app-settings.md). ARM enforces
it region by region with error 51021, "The following list of ... site configuration properties
(Site.SiteConfig.FtpsState, Site.SiteConfig.Use32BitWorkerProcess, Site.SiteConfig.
PreWarmedInstanceCount, Site.SiteConfig.NetFrameworkVersion, Site.SiteConfig.
FunctionsRuntimeScaleMonitoringEnabled) for Flex Consumption sites is invalid"
(microsoft/azure-pipelines-tasks#21032, Azure/terraform-azurerm-avm-res-web-site#360), and
"Site.SiteConfig.FunctionAppScaleLimit ... is invalid" (Azure/azure-functions-host#10643).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from pycep import BicepParser

from tests.infra.bicep_support import (
    FUNCTION_APP,
    INFRA,
    body,
    code_only,
    condition,
    every,
    nodes,
    resources,
    text,
)

# Site and siteConfig properties Flex Consumption does not support: the deprecations table
# (properties.* rows), plus functionsRuntimeScaleMonitoringEnabled from ARM's 51021 refusals.
# Compared case-insensitively: ARM property names are.
FLEX_UNSUPPORTED_PROPERTIES = {
    "alwaysOn": "not valid",
    "containerSize": "renamed instanceMemoryMB (functionAppConfig.scaleAndConcurrency)",
    "ftpsState": "FTPS not supported (ARM error 51021)",
    "isReserved": "not valid",
    "reserved": "not valid on the site (isReserved; the plan carries reserved)",
    "isXenon": "not valid",
    "javaVersion": "replaced by functionAppConfig.runtime.version",
    "linuxFxVersion": "replaced by functionAppConfig.runtime",
    "netFrameworkVersion": "replaced by functionAppConfig.runtime.version (ARM error 51021)",
    "powerShellVersion": "replaced by functionAppConfig.runtime.version",
    "functionAppScaleLimit": "renamed maximumInstanceCount (ARM rejects it)",
    "preWarmedInstanceCount": "renamed alwaysReady (ARM error 51021)",
    "use32BitWorkerProcess": "32-bit not supported (ARM error 51021)",
    "vnetBackupRestoreEnabled": "not used for networking in Flex Consumption",
    "vnetContentShareEnabled": "not used for networking in Flex Consumption",
    "vnetImagePullEnabled": "not used for networking in Flex Consumption",
    "vnetRouteAllEnabled": "not used for networking in Flex Consumption",
    "windowsFxVersion": "not valid",
    "functionsRuntimeScaleMonitoringEnabled": "ARM error 51021",
}

# App settings the same table deprecates on Flex Consumption.
FLEX_DEPRECATED_APP_SETTINGS = {
    "ENABLE_ORYX_BUILD",
    "FUNCTIONS_EXTENSION_VERSION",
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_WORKER_RUNTIME_VERSION",
    "FUNCTIONS_MAX_HTTP_CONCURRENCY",
    "FUNCTIONS_WORKER_PROCESS_COUNT",
    "FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_CONTENTOVERVNET",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_DNS_SERVER",
    "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
    "WEBSITE_NODE_DEFAULT_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_SKIP_CONTENTSHARE_VALIDATION",
    "WEBSITE_VNET_ROUTE_ALL",
}


def _keys(value: Any) -> set[str]:
    return {key.strip("'") for node in nodes(value) if isinstance(node, dict) for key in node}


def flex_violations(doc: dict[str, Any]) -> list[str]:
    """Everything in one template that Flex Consumption does not support."""
    found = []
    unsupported = {name.lower(): name for name in FLEX_UNSUPPORTED_PROPERTIES}
    for name, site in resources(doc, "Microsoft.Web/sites").items():
        props = body(site).get("properties", {})
        site_config = props.get("siteConfig", {})
        # The site's own properties and everything in siteConfig; functionAppConfig is Flex's own.
        keys = {k for k in props if k != "functionAppConfig"} | (
            _keys(site_config) if isinstance(site_config, dict) else set()
        )
        for key in sorted(keys, key=str.lower):
            if key.lower() in unsupported:
                prop = unsupported[key.lower()]
                found.append(f"{name}: {prop} ({FLEX_UNSUPPORTED_PROPERTIES[prop]})")
    settings = {
        node["name"]
        for node in nodes([doc.get("variables", {}), doc.get("resources", {})])
        if isinstance(node, dict) and set(node) == {"name", "value"} and isinstance(node["name"], str)
    }
    found += [f"app setting {s}" for s in sorted(settings & FLEX_DEPRECATED_APP_SETTINGS)]
    for policy in resources(doc, "Microsoft.Web/sites/basicPublishingCredentialsPolicies").values():
        if body(policy)["name"] == "ftp":
            found.append("basicPublishingCredentialsPolicies/ftp: Flex Consumption has no FTP")
    if resources(doc, "Microsoft.Web/sites/config"):
        found.append("Microsoft.Web/sites/config: settings go in siteConfig.appSettings")
    return found


def test_no_site_property_flex_consumption_rejects(t: dict[str, dict[str, Any]]) -> None:
    sites = 0
    for name, doc in every(t).items():
        assert not flex_violations(doc), f"{name}: {flex_violations(doc)}"
        sites += len(resources(doc, "Microsoft.Web/sites"))
    assert sites == 1
    # The function app is a Flex Consumption app, and the scan saw its settings and siteConfig.
    _, plan = next(iter(resources(t[FUNCTION_APP], "Microsoft.Web/serverfarms").items()))
    assert body(plan)["sku"]["tier"] == "FlexConsumption"
    site = next(iter(resources(t[FUNCTION_APP], "Microsoft.Web/sites").values()))
    assert {"minTlsVersion", "appSettings", "ipSecurityRestrictions"} <= set(
        body(site)["properties"]["siteConfig"]
    )


def test_no_flex_property_is_even_mentioned_outside_comments() -> None:
    """A property can also come in through a variable or a union(); none of the names may appear
    in any template's code (comments may explain why they are absent)."""
    for path in sorted(INFRA.rglob("*.bicep")):
        code = code_only(path.read_text(encoding="utf-8")).lower()
        for prop in FLEX_UNSUPPORTED_PROPERTIES:
            if prop == "reserved":
                continue  # the plan's `reserved: true` (Linux) is required
            assert not re.search(rf"\b{prop.lower()}\s*:", code), f"{path.relative_to(INFRA)}: {prop}"


_BAD_SITE = """
resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'p'
  location: 'l'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
}
var settings = [
  {
    name: 'FUNCTIONS_WORKER_RUNTIME'
    value: 'python'
  }
]
resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: 's'
  location: 'l'
  properties: {
    serverFarmId: plan.id
    vnetRouteAllEnabled: true
    siteConfig: {
      ftpsState: 'Disabled'
      AlwaysOn: false
      appSettings: settings
    }
  }
}
resource ftp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}
"""


def test_flex_check_catches_what_it_should() -> None:
    found = flex_violations(BicepParser().parse(text=_BAD_SITE))
    assert found == [
        "site: alwaysOn (not valid)",
        "site: ftpsState (FTPS not supported (ARM error 51021))",
        "site: vnetRouteAllEnabled (not used for networking in Flex Consumption)",
        "app setting FUNCTIONS_WORKER_RUNTIME",
        "basicPublishingCredentialsPolicies/ftp: Flex Consumption has no FTP",
    ]


# Null-safe reads of conditional resources and modules (Bicep BCP318) -----------------------


def unsafe_conditional_reads(code: str, doc: dict[str, Any]) -> list[str]:
    """``sym.x`` where ``sym`` is a conditional resource or module: Bicep warns BCP318 ("may be
    null") unless the read says ``sym!.x`` (known to exist where it is read) or ``sym.?x``."""
    conditional = {
        name
        for kind in ("resources", "modules")
        for name, item in doc.get(kind, {}).items()
        if condition(item)
    }
    code = code_only(code)
    return [
        f"{sym}.{m.group(1)}"
        for sym in sorted(conditional)
        for m in re.finditer(rf"(?<![\w.]){re.escape(sym)}\.(?!\?)(\w+)", code)
    ]


def test_reads_of_conditional_resources_and_modules_are_null_safe(t: dict[str, dict[str, Any]]) -> None:
    checked = 0
    for name, doc in every(t).items():
        assert not unsafe_conditional_reads(text(name), doc), (
            f"{name}: {unsafe_conditional_reads(text(name), doc)}"
        )
        checked += len(re.findall(r"\w!\.", code_only(text(name))))
    # main.bicep (keyVaultAccess, network), event-grid-topic.bicep (newTopic/existingTopic) and
    # monitoring.bicep (actionGroup) do read conditional symbols, all with `!`.
    assert checked >= 10


@pytest.mark.parametrize(
    ("code", "unsafe"),
    [
        ("output id string = flag ? res.id : ''", ["res.id"]),
        ("output id string = flag ? res!.id : ''", []),
        ("output id string = res.?id ?? ''", []),
        ("// res.id in a comment\noutput id string = 'res.id'", []),
        ("output id string = other.res.id", []),
    ],
)
def test_null_safety_check_catches_what_it_should(code: str, unsafe: list[str]) -> None:
    template = "param flag bool = false\nresource res 'Microsoft.Storage/storageAccounts@2023-05-01' = if (flag) {\n  name: 'x'\n  location: 'y'\n}\n"
    doc = BicepParser().parse(text=template + code + "\n")
    assert unsafe_conditional_reads(template + code, doc) == unsafe
