"""Private network mode (networkIsolation), checked in both network modes and both ACS auth
modes by evaluating the templates' conditions for each combination.

What Microsoft documents, and this mode follows:
- Flex Consumption VNet integration needs a subnet delegated to Microsoft.App/environments,
  /27 or larger, no underscore in its name (Azure Functions networking options).
- Event Grid cannot deliver through a private endpoint (Event Grid, "Deliver events using
  private link service"), so the function keeps its public endpoint; inbound access
  restrictions (supported on Flex Consumption) admit the AzureEventGrid service tag only.
- Event Grid dead-letters into a firewalled account as a trusted service, with the system
  topic's system-assigned identity and "Allow Azure services on the trusted services list"
  (Event Grid storage-queue handler notes); Microsoft.EventGrid/systemTopics is a supported
  resource instance type (Storage, "Trusted Azure services"); trusted-service exceptions and
  resource instance rules stay in effect with public network access Disabled (Storage,
  "Azure Storage network security overview").
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.bicep_support import (
    ARCHIVE,
    ENDPOINT,
    FUNCTION_APP,
    HOST,
    MAIN,
    NETWORK,
    SUBSCRIPTION,
    accessor,
    body,
    conditional,
    decorator,
    deploy_section,
    deployed,
    evaluate,
    fn,
    param,
    resources,
    the,
    var,
)

PRIVATE_MODE_MODULES = {
    "network",
    "archiveBlobEndpoint",
    "hostBlobEndpoint",
    "hostQueueEndpoint",
    "keyVaultEndpoint",
}

# Private endpoints main.bicep adds: module -> (what it connects, sub-resource, DNS zone output).
ENDPOINTS = {
    "archiveBlobEndpoint": (["archiveStorage", "outputs", "id"], "blob", "blobZoneId"),
    "hostBlobEndpoint": (["hostStorage", "outputs", "id"], "blob", "blobZoneId"),
    "hostQueueEndpoint": (["hostStorage", "outputs", "id"], "queue", "queueZoneId"),
    "keyVaultEndpoint": (["keyVaultAccess", "outputs", "vaultId"], "vault", "vaultZoneId"),
}

MODES = [
    pytest.param(False, "identity", id="public-identity"),
    pytest.param(False, "key", id="public-key"),
    pytest.param(True, "identity", id="private-identity"),
    pytest.param(True, "key", id="private-key"),
]


def _given(isolated: bool, auth: str) -> dict[str, Any]:
    return {"networkIsolation": isolated, "acsAuthMode": auth}


@pytest.mark.parametrize(("isolated", "auth"), MODES)
def test_private_mode_adds_the_network_and_an_endpoint_per_store(
    t: dict[str, dict[str, Any]], isolated: bool, auth: str
) -> None:
    main = t[MAIN]
    given = _given(isolated, auth)
    modules = {name for name, module in main["modules"].items() if deployed(main, module, given)}
    expected = set()
    if isolated:
        expected = {"network", "archiveBlobEndpoint", "hostBlobEndpoint", "hostQueueEndpoint"}
        if auth == "key":
            expected.add("keyVaultEndpoint")
    assert modules & PRIVATE_MODE_MODULES == expected
    assert param(main, "networkIsolation")["default"] is False


def test_each_private_endpoint_connects_one_store_to_its_dns_zone(t: dict[str, dict[str, Any]]) -> None:
    main = t[MAIN]
    for name, (target, group, zone) in ENDPOINTS.items():
        module = main["modules"][name]
        assert module["detail"]["path"] == "modules/private-endpoint.bicep"
        passed = body(module)["params"]
        assert accessor(passed["targetId"]) == target, name
        assert passed["groupId"] == group, name
        assert accessor(passed["privateDnsZoneId"]) == ["network", "outputs", zone], name
        assert accessor(passed["subnetId"]) == ["network", "outputs", "privateEndpointSubnetId"], name
    # The endpoint module: one connection to the given sub-resource, and its DNS record.
    doc = t[ENDPOINT]
    _, endpoint = the(doc, "Microsoft.Network/privateEndpoints")
    props = body(endpoint)["properties"]
    assert props["subnet"] == {"id": "subnetId"}
    [connection] = props["privateLinkServiceConnections"]
    assert connection["properties"] == {"privateLinkServiceId": "targetId", "groupIds": ["groupId"]}
    assert set(decorator(doc, "groupId", "allowed")) == {"blob", "queue", "vault"}
    _, group = the(doc, "Microsoft.Network/privateEndpoints/privateDnsZoneGroups")
    [zone] = body(group)["properties"]["privateDnsZoneConfigs"]
    assert zone["properties"] == {"privateDnsZoneId": "privateDnsZoneId"}


def test_the_host_account_gets_the_endpoints_the_runtime_needs(t: dict[str, dict[str, Any]]) -> None:
    """Blob (package, locks, timers) and queue (the job queue). No table: the host's only table use,
    diagnostic events, is optional and the app identity holds no table role."""
    groups = {
        body(t[MAIN]["modules"][name])["params"]["groupId"]
        for name in ENDPOINTS
        if accessor(body(t[MAIN]["modules"][name])["params"]["targetId"])[0] == "hostStorage"
    }
    assert groups == {"blob", "queue"}


def test_the_virtual_network_is_what_flex_consumption_needs(t: dict[str, dict[str, Any]]) -> None:
    doc = t[NETWORK]
    _, vnet = the(doc, "Microsoft.Network/virtualNetworks")
    props = body(vnet)["properties"]
    assert props["addressSpace"]["addressPrefixes"] == ["addressPrefix"]
    subnets = {var(doc, s["name"]): s["properties"] for s in props["subnets"]}
    assert set(subnets) == {"app", "private-endpoints"}
    assert all("_" not in name for name in subnets), "Flex Consumption refuses underscores in subnet names"
    app = subnets["app"]
    assert app["addressPrefix"] == "appSubnetPrefix"
    assert [d["properties"]["serviceName"] for d in app["delegations"]] == ["Microsoft.App/environments"]
    assert subnets["private-endpoints"]["addressPrefix"] == "privateEndpointSubnetPrefix"
    assert "delegations" not in subnets["private-endpoints"]
    _, nsg = the(doc, "Microsoft.Network/networkSecurityGroups")
    assert body(nsg)["properties"]["securityRules"] == [], "platform defaults only"
    for subnet in subnets.values():
        assert accessor(subnet["networkSecurityGroup"]["id"]) == ["nsg", "id"]
    main = t[MAIN]
    passed = body(main["modules"]["network"])["params"]
    assert passed["addressPrefix"] == "vnetAddressPrefix"
    assert passed["appSubnetPrefix"] == "appSubnetPrefix"
    assert passed["privateEndpointSubnetPrefix"] == "privateEndpointSubnetPrefix"
    # /27 is the smallest subnet Microsoft recommends for one Flex Consumption app.
    assert param(main, "appSubnetPrefix")["default"].endswith("/27")
    assert param(main, "privateEndpointSubnetPrefix")["default"].endswith("/27")
    assert param(main, "vnetAddressPrefix")["default"].endswith("/24")


@pytest.mark.parametrize("auth", ["identity", "key"])
def test_private_dns_zones_resolve_the_usual_host_names(t: dict[str, dict[str, Any]], auth: str) -> None:
    doc = t[NETWORK]
    zones = resources(doc, "Microsoft.Network/privateDnsZones")
    names = {symbol: var(doc, body(zone)["name"]) for symbol, zone in zones.items()}
    assert names == {
        "blobZone": "privatelink.blob.${environment().suffixes.storage}",
        "queueZone": "privatelink.queue.${environment().suffixes.storage}",
        "vaultZone": "privatelink${replace(environment().suffixes.keyvaultDns, '.vault.', '.vaultcore.')}",
    }
    with_vault = evaluate(
        body(t[MAIN]["modules"]["network"])["params"]["withVaultZone"], t[MAIN], {"acsAuthMode": auth}
    )
    given = {"withVaultZone": with_vault}
    made = {symbol for symbol, zone in zones.items() if deployed(doc, zone, given)}
    assert made == ({"blobZone", "queueZone", "vaultZone"} if auth == "key" else {"blobZone", "queueZone"})
    links = resources(doc, "Microsoft.Network/privateDnsZones/virtualNetworkLinks")
    linked = {body(link)["parent"] for link in links.values() if deployed(doc, link, given)}
    assert linked == made, "every zone is linked to the virtual network"
    for link in links.values():
        assert body(link)["properties"]["registrationEnabled"] is False
        assert accessor(body(link)["properties"]["virtualNetwork"]["id"]) == ["vnet", "id"]


@pytest.mark.parametrize(("isolated", "auth"), MODES)
def test_the_app_joins_the_network_and_admits_only_event_grid(
    t: dict[str, dict[str, Any]], isolated: bool, auth: str
) -> None:
    main = t[MAIN]
    passed = body(main["modules"]["functionApp"])["params"]
    subnet = evaluate(passed["virtualNetworkSubnetId"], main, _given(isolated, auth))
    assert subnet == ("network.outputs.appSubnetId" if isolated else "")
    # The app waits for every endpoint (a module not deployed is dropped from dependsOn).
    assert set(body(main["modules"]["functionApp"])["dependsOn"]) == set(ENDPOINTS)

    doc = t[FUNCTION_APP]
    given = {"virtualNetworkSubnetId": subnet}
    _, site = the(doc, "Microsoft.Web/sites")
    props = body(site)["properties"]
    assert evaluate(props["virtualNetworkSubnetId"], doc, given) == (subnet or None)
    # Event Grid cannot deliver to a private endpoint: the app's endpoint stays public ...
    assert props["publicNetworkAccess"] == "Enabled"
    restrictions = evaluate(props["siteConfig"]["ipSecurityRestrictions"], doc, given)
    default = evaluate(props["siteConfig"]["ipSecurityRestrictionsDefaultAction"], doc, given)
    if isolated:
        # ... but in private mode only Event Grid's addresses may call it.
        [rule] = restrictions
        assert (rule["tag"], rule["ipAddress"], rule["action"]) == ("ServiceTag", "AzureEventGrid", "Allow")
        assert default == "Deny"
    else:
        assert (restrictions, default) == ([], "Allow")


def test_both_storage_modules_follow_the_network_mode(t: dict[str, dict[str, Any]]) -> None:
    """Each then deploys its private or public account variant (test_infra_bicep.py)."""
    main = t[MAIN]
    for module in ("archiveStorage", "hostStorage"):
        assert body(main["modules"][module])["params"]["networkIsolation"] == "networkIsolation"


def test_event_grid_still_dead_letters_into_the_private_archive(t: dict[str, dict[str, Any]]) -> None:
    archive = t[ARCHIVE]
    private = body(archive["modules"]["privateAccount"])["params"]
    assert private["bypass"] == "AzureServices"
    rules = conditional(private["resourceAccessRules"])
    assert list(fn(rules["condition"], "empty").values()) == ["eventGridTopicId"]
    assert rules["true_value"] == [] and rules["false_value"] == ["eventGridAccessRule"]
    rule = var(archive, "eventGridAccessRule")
    assert rule["resourceId"] == "eventGridTopicId"
    assert accessor(rule["tenantId"])[1:] == ["tenantId"]
    assert accessor(body(t[MAIN]["modules"]["archiveStorage"])["params"]["eventGridTopicId"]) == [
        "systemTopic",
        "outputs",
        "id",
    ]
    # Trusted access works with the topic's system-assigned identity only.
    dead = body(the(t[SUBSCRIPTION], "Microsoft.EventGrid/systemTopics/eventSubscriptions")[1])["properties"]
    assert dead["deadLetterWithResourceIdentity"]["identity"] == {"type": "SystemAssigned"}
    # Nothing but the app (through its endpoints) uses the host account: no bypass at all.
    host = body(t[HOST]["modules"]["privateAccount"])["params"]
    assert host["bypass"] == "None"
    assert "resourceAccessRules" not in host


def test_readme_says_what_stays_public_and_what_private_mode_costs() -> None:
    docs = deploy_section()
    private = docs[
        docs.index("### Private network mode") : docs.index("### Permissions the deployment grants")
    ]
    assert "**What stays public, and why.**" in private
    for fact in (
        "AzureEventGrid",  # the function's endpoint, Event Grid only
        "SCM",  # the deployment endpoint
        "trusted",  # Event Grid dead-letters as a trusted service
        "resource instance rule",
        "ACS",
        "Application Insights",
        "Key Vault",
        "public network access disabled",
        "Microsoft.App/environments",
    ):
        assert fact in private, fact
    costs = docs[docs.index("### What it costs at idle") : docs.index("### Remove it")]
    assert "Private network mode" in costs and "US$7.30 a" in costs and "US$0.50 a" in costs
    assert "az provider register --namespace Microsoft.App" in docs
