#!/bin/sh
# azd postdeploy hook, phase 2: create (or update) the Event Grid subscription from the ACS
# system topic to the deployed ingest_recording_event function. Event Grid refuses an
# AzureFunction endpoint that does not exist yet, so this runs after `azd deploy`.
#
# Needs the Azure CLI signed in to the same tenant as azd (`az login`). The values come from
# the azd environment (outputs of infra/main.bicep). Safe to run again: the deployment is
# idempotent. Run by hand with: azd hooks run postdeploy
set -eu

here="$(cd "$(dirname "$0")" && pwd)"
template="$here/../subscription.bicep"

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
