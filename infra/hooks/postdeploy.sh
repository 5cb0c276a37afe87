#!/bin/sh
# azd postdeploy hook, phase 2: create (or update) the Event Grid subscription from the ACS
# system topic to the deployed ingest_recording_event function. Event Grid refuses an
# AzureFunction endpoint that does not exist yet, so this runs after `azd deploy`.
# With IMMUTABILITY_LOCKED=true it first locks the archive and audit containers' immutability
# policies (irreversible; ARM cannot lock a policy, see README.md#deploy).
#
# Needs the Azure CLI signed in to the same tenant as azd (`az login`). The values come from
# the azd environment (outputs of infra/main.bicep). Safe to run again: the deployment is
# idempotent. Run by hand with: azd hooks run postdeploy
set -eu

here="$(cd "$(dirname "$0")" && pwd)"
template="$here/../subscription.bicep"

# Lock one container's immutability policy if it is still unlocked. Locking is a POST that needs
# the policy's current ETag, which is why it is here and not in the template.
lock_policy() {
    container="$1"
    policy="$(az storage container immutability-policy show --subscription "$AZURE_SUBSCRIPTION_ID" \
        --resource-group "$AZURE_RESOURCE_GROUP" --account-name "$ARCHIVE_STORAGE_ACCOUNT_NAME" \
        --container-name "$container" --query "[state, immutabilityPeriodSinceCreationInDays]" \
        --output tsv 2>/dev/null | tr '\t\n' '  ' || true)"
    state="${policy%% *}"
    days="$(echo "$policy" | awk '{print $2}')"
    if [ "$state" = "Locked" ]; then
        echo "postdeploy: the immutability policy on $container is already locked."
    elif [ "$state" = "Unlocked" ] && [ "${days:-0}" -gt 0 ]; then
        etag="$(az storage container immutability-policy show --subscription "$AZURE_SUBSCRIPTION_ID" \
            --resource-group "$AZURE_RESOURCE_GROUP" --account-name "$ARCHIVE_STORAGE_ACCOUNT_NAME" \
            --container-name "$container" --query etag --output tsv)"
        echo "postdeploy: LOCKING the $days-day immutability policy on $container (irreversible)"
        az storage container immutability-policy lock --subscription "$AZURE_SUBSCRIPTION_ID" \
            --resource-group "$AZURE_RESOURCE_GROUP" --account-name "$ARCHIVE_STORAGE_ACCOUNT_NAME" \
            --container-name "$container" --if-match "$etag" --output none
    else
        echo "postdeploy: $container has no immutability policy to lock. Create it first with" \
            "IMMUTABILITY_LOCKED=false (azd provision), then lock (README.md#deploy)." >&2
        return 1
    fi
}

if [ "${ARCHIVE_IMMUTABILITY_LOCKED:-false}" = "true" ] && [ "${ARCHIVE_IMMUTABILITY:-none}" != "none" ]; then
    for name in AZURE_SUBSCRIPTION_ID AZURE_RESOURCE_GROUP ARCHIVE_STORAGE_ACCOUNT_NAME ARCHIVE_CONTAINER \
        ARCHIVE_AUDIT_CONTAINER; do
        eval "value=\${$name:-}"
        [ -n "$value" ] || { echo "postdeploy: missing azd environment value $name" >&2; exit 1; }
    done
    if ! command -v az >/dev/null 2>&1 || ! az account show >/dev/null 2>&1; then
        echo "postdeploy: IMMUTABILITY_LOCKED=true needs the Azure CLI, signed in (az login)." >&2
        exit 1
    fi
    lock_policy "$ARCHIVE_CONTAINER"
    lock_policy "$ARCHIVE_AUDIT_CONTAINER"
fi

if [ "${DEPLOY_EVENT_SUBSCRIPTION:-false}" = "true" ]; then
    echo "postdeploy: DEPLOY_EVENT_SUBSCRIPTION=true, the subscription is part of 'azd provision'; nothing to do."
    exit 0
fi

missing=""
for name in AZURE_SUBSCRIPTION_ID AZURE_RESOURCE_GROUP AZURE_FUNCTION_APP_NAME AZURE_FUNCTION_APP_ID \
    EVENT_GRID_SYSTEM_TOPIC_NAME EVENT_GRID_SYSTEM_TOPIC_RESOURCE_GROUP ARCHIVE_STORAGE_ACCOUNT_ID \
    EVENT_GRID_DEADLETTER_CONTAINER SOURCE_RETENTION_HOURS; do
    eval "value=\${$name:-}"
    [ -n "$value" ] || missing="$missing $name"
done
if [ -n "$missing" ]; then
    echo "postdeploy: missing azd environment values:$missing (run 'azd provision' first)" >&2
    exit 1
fi

if ! command -v az >/dev/null 2>&1 || ! az account show >/dev/null 2>&1; then
    cat >&2 <<MSG
postdeploy: the Azure CLI is missing or not signed in, so the Event Grid subscription was NOT
created and no recording will be archived yet. Either sign in and re-run the hook:
    az login && azd hooks run postdeploy
or let azd create it in the main deployment:
    azd env set DEPLOY_EVENT_SUBSCRIPTION true && azd provision
MSG
    exit 1
fi

# The function list appears once the host has indexed the new package; wait up to ~5 min.
echo "postdeploy: waiting for function ingest_recording_event on $AZURE_FUNCTION_APP_NAME"
attempt=0
until az functionapp function show --subscription "$AZURE_SUBSCRIPTION_ID" \
    --resource-group "$AZURE_RESOURCE_GROUP" --name "$AZURE_FUNCTION_APP_NAME" \
    --function-name ingest_recording_event --query name --output tsv >/dev/null 2>&1; do
    attempt=$((attempt + 1))
    if [ "$attempt" -ge 30 ]; then
        echo "postdeploy: ingest_recording_event is not listed on $AZURE_FUNCTION_APP_NAME; check the deployment logs" >&2
        exit 1
    fi
    sleep 10
done

echo "postdeploy: creating the Event Grid subscription on $EVENT_GRID_SYSTEM_TOPIC_NAME"
az deployment group create \
    --subscription "$AZURE_SUBSCRIPTION_ID" \
    --resource-group "$EVENT_GRID_SYSTEM_TOPIC_RESOURCE_GROUP" \
    --name "archiver-event-subscription" \
    --template-file "$template" \
    --parameters \
        systemTopicName="$EVENT_GRID_SYSTEM_TOPIC_NAME" \
        functionAppId="$AZURE_FUNCTION_APP_ID" \
        archiveStorageAccountId="$ARCHIVE_STORAGE_ACCOUNT_ID" \
        deadLetterContainerName="$EVENT_GRID_DEADLETTER_CONTAINER" \
        sourceRetentionHours="$SOURCE_RETENTION_HOURS" \
    --output none

echo "postdeploy: Event Grid subscription is in place; recordings will now be archived."
