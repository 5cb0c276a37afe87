# azd postdeploy hook (Windows), phase 2: the same as postdeploy.sh. Creates (or updates) the
# Event Grid subscription from the ACS system topic to the deployed ingest_recording_event
# function, after locking the immutability policies when IMMUTABILITY_LOCKED=true (irreversible;
# see README.md#deploy). Needs the Azure CLI signed in (`az login`). Re-run with: azd hooks run postdeploy
$ErrorActionPreference = 'Stop'

$template = Join-Path $PSScriptRoot '..' 'subscription.bicep'

# Lock one container's immutability policy if it is still unlocked (a POST that needs the
# policy's current ETag, which is why it is here and not in the template).
function Lock-Policy([string] $container) {
    $common = @('--subscription', $env:AZURE_SUBSCRIPTION_ID, '--resource-group', $env:AZURE_RESOURCE_GROUP,
        '--account-name', $env:ARCHIVE_STORAGE_ACCOUNT_NAME, '--container-name', $container)
    $policy = az storage container immutability-policy show @common --output json 2>$null | ConvertFrom-Json
    if ($policy -and $policy.state -eq 'Locked') {
        Write-Host "postdeploy: the immutability policy on $container is already locked."
    } elseif ($policy -and $policy.state -eq 'Unlocked' -and $policy.immutabilityPeriodSinceCreationInDays -gt 0) {
        Write-Host "postdeploy: LOCKING the $($policy.immutabilityPeriodSinceCreationInDays)-day immutability policy on $container (irreversible)"
        az storage container immutability-policy lock @common --if-match $policy.etag --output none
        if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    } else {
        Write-Error ("postdeploy: $container has no immutability policy to lock. Create it first with " +
            "IMMUTABILITY_LOCKED=false (azd provision), then lock (README.md#deploy).")
    }
}

if ($env:ARCHIVE_IMMUTABILITY_LOCKED -eq 'true' -and $env:ARCHIVE_IMMUTABILITY -and $env:ARCHIVE_IMMUTABILITY -ne 'none') {
    $lockNames = @('AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_GROUP', 'ARCHIVE_STORAGE_ACCOUNT_NAME', 'ARCHIVE_CONTAINER',
        'ARCHIVE_AUDIT_CONTAINER')
    $lockMissing = $lockNames | Where-Object { -not [Environment]::GetEnvironmentVariable($_) }
    if ($lockMissing) { Write-Error "postdeploy: missing azd environment values: $($lockMissing -join ' ')" }
    az account show --output none 2>$null
    if ($LASTEXITCODE -ne 0) { Write-Error 'postdeploy: IMMUTABILITY_LOCKED=true needs the Azure CLI, signed in (az login).' }
    Lock-Policy $env:ARCHIVE_CONTAINER
    Lock-Policy $env:ARCHIVE_AUDIT_CONTAINER
}

if ($env:DEPLOY_EVENT_SUBSCRIPTION -eq 'true') {
    Write-Host "postdeploy: DEPLOY_EVENT_SUBSCRIPTION=true, the subscription is part of 'azd provision'; nothing to do."
    exit 0
}

$names = @('AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_GROUP', 'AZURE_FUNCTION_APP_NAME', 'AZURE_FUNCTION_APP_ID',
    'EVENT_GRID_SYSTEM_TOPIC_NAME', 'EVENT_GRID_SYSTEM_TOPIC_RESOURCE_GROUP', 'ARCHIVE_STORAGE_ACCOUNT_ID',
    'EVENT_GRID_DEADLETTER_CONTAINER', 'SOURCE_RETENTION_HOURS')
$missing = $names | Where-Object { -not [Environment]::GetEnvironmentVariable($_) }
if ($missing) {
    Write-Error "postdeploy: missing azd environment values: $($missing -join ' ') (run 'azd provision' first)"
}

$signedIn = $false
if (Get-Command az -ErrorAction SilentlyContinue) {
    az account show --output none 2>$null
    $signedIn = ($LASTEXITCODE -eq 0)
}
if (-not $signedIn) {
    Write-Error ("postdeploy: the Azure CLI is missing or not signed in, so the Event Grid subscription was NOT created. " +
        "Run 'az login' then 'azd hooks run postdeploy', or 'azd env set DEPLOY_EVENT_SUBSCRIPTION true' then 'azd provision'.")
}

Write-Host "postdeploy: waiting for function ingest_recording_event on $env:AZURE_FUNCTION_APP_NAME"
$found = $false
for ($attempt = 0; $attempt -lt 30; $attempt++) {
    az functionapp function show --subscription $env:AZURE_SUBSCRIPTION_ID --resource-group $env:AZURE_RESOURCE_GROUP `
        --name $env:AZURE_FUNCTION_APP_NAME --function-name ingest_recording_event --query name --output tsv 2>$null | Out-Null
    if ($LASTEXITCODE -eq 0) { $found = $true; break }
    Start-Sleep -Seconds 10
}
if (-not $found) {
    Write-Error "postdeploy: ingest_recording_event is not listed on $env:AZURE_FUNCTION_APP_NAME; check the deployment logs"
}

Write-Host "postdeploy: creating the Event Grid subscription on $env:EVENT_GRID_SYSTEM_TOPIC_NAME"
az deployment group create `
    --subscription $env:AZURE_SUBSCRIPTION_ID `
    --resource-group $env:EVENT_GRID_SYSTEM_TOPIC_RESOURCE_GROUP `
    --name 'archiver-event-subscription' `
    --template-file $template `
    --parameters `
        "systemTopicName=$env:EVENT_GRID_SYSTEM_TOPIC_NAME" `
        "functionAppId=$env:AZURE_FUNCTION_APP_ID" `
        "archiveStorageAccountId=$env:ARCHIVE_STORAGE_ACCOUNT_ID" `
        "deadLetterContainerName=$env:EVENT_GRID_DEADLETTER_CONTAINER" `
        "sourceRetentionHours=$env:SOURCE_RETENTION_HOURS" `
    --output none
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }

Write-Host 'postdeploy: Event Grid subscription is in place; recordings will now be archived.'
