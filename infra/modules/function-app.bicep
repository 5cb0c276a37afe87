// The Flex Consumption plan and the Function App. Python 3.11, one user-assigned identity,
// identity-based host storage and deployment container, and every archiver setting. The app
// holds no key: storage, ACS and Application Insights are reached with the identity; in key
// mode the ACS connection string is a Key Vault reference resolved by the platform.

param name string
param planName string
param location string
param tags object

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity (AZURE_CLIENT_ID, AzureWebJobsStorage__clientId).')
param identityClientId string

param hostStorageName string
param hostStorageBlobEndpoint string
param hostQueueServiceUri string
param deploymentContainerName string

param applicationInsightsConnectionString string

@description('Memory of each instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Spread instances across availability zones (only in regions that offer it for Flex Consumption; needs ZRS host storage).')
param zoneRedundant bool = false

@description('Upper bound on instances the plan scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

// Archiver settings (names fixed by archiver/settings.py).
param archiveStorageAccountUrl string
param archiveContainerName string
param allowedSourceHosts string = ''
param allowedAcsResourceIds string
param sourceRetentionHours int
param atRiskMarginMinutes int
param deleteSourceAfterArchive bool

@description('Days of the archive container\'s time-based retention (immutability container); empty otherwise.')
param archiveRetentionDays string = ''

@description('Log Analytics workspace id (customerId) the reconciliation queries for ACSCallRecordingSummary.')
param logAnalyticsWorkspaceId string

@description('ACS endpoint (https://<name>.<region>.communication.azure.com), used in identity mode.')
param acsEndpoint string

@description('Versionless Key Vault secret URI of the ACS connection string; set only in key mode.')
param acsConnectionStringSecretUri string = ''

@description('Private network mode: resource id of the subnet (delegated to Microsoft.App/environments) the app is integrated with. Empty: no virtual network.')
param virtualNetworkSubnetId string = ''

var useKeyAuth = !empty(acsConnectionStringSecretUri)
var networkIsolation = !empty(virtualNetworkSubnetId)

// Private network mode: Event Grid cannot deliver through a private endpoint, so the app keeps
// its public endpoint, but only Event Grid's addresses (service tag AzureEventGrid) may call
// it; the deployment (SCM) endpoint keeps its own, unrestricted rules and accepts Entra ID only.
var eventGridOnly = [
  {
    name: 'event-grid'
    description: 'Event Grid delivers RecordingFileStatusUpdated events to the ingress function.'
    action: 'Allow'
    tag: 'ServiceTag'
    ipAddress: 'AzureEventGrid'
    priority: 100
  }
]

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  //checkov:skip=CKV_AZURE_225:Zone redundancy for Flex Consumption is offered only in some regions; it is the zoneRedundant parameter (default off so the template deploys in every Flex region).
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
    zoneRedundant: zoneRedundant
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  //checkov:skip=CKV_AZURE_222:Event Grid delivers to the function over the public endpoint (it cannot deliver to private endpoints); the only HTTP entry is the Event Grid webhook, which requires the system key, and private network mode admits only the AzureEventGrid service tag.
  //checkov:skip=CKV_AZURE_78:Flex Consumption has no FTP or FTPS endpoint at all: Microsoft lists siteConfig.ftpsState among the properties Flex does not support, and ARM rejects it there (error 51021), so the property is deliberately absent.
  //checkov:skip=CKV_AZURE_17:Event Grid cannot present a client certificate, so requiring one would block event delivery; the webhook is authenticated by its system key.
  //checkov:skip=CKV_AZURE_212:Flex Consumption scales to zero to keep idle cost near nothing; the job queue and Event Grid retries cover instance loss, so no always-ready instances are kept.
  //checkov:skip=CKV_AZURE_213:The app serves no HTTP traffic of its own to health-check (event and queue triggers only); Flex Consumption replaces unhealthy instances itself.
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'archiver'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    publicNetworkAccess: 'Enabled'
    // Outbound VNet integration (private network mode): storage and Key Vault are reached
    // through their private endpoints. Flex routes all outbound traffic into the network.
    virtualNetworkSubnetId: networkIsolation ? virtualNetworkSubnetId : null
    // Only what Flex Consumption supports: no ftpsState (Flex has no FTP and rejects it, ARM
    // error 51021), alwaysOn, linuxFxVersion, netFrameworkVersion, use32BitWorkerProcess,
    // functionAppScaleLimit, vnetRouteAllEnabled or the like (tests/infra lists them all).
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: true
      ipSecurityRestrictions: networkIsolation ? eventGridOnly : []
      ipSecurityRestrictionsDefaultAction: networkIsolation ? 'Deny' : 'Allow'
      appSettings: concat(hostSettings, archiverSettings, useKeyAuth ? keyAuthSettings : identityAuthSettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// Functions host settings: identity-based AzureWebJobsStorage (the job queue lives there)
// and Entra ID authenticated telemetry. Flex Consumption sets the runtime in
// functionAppConfig, so FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION must not
// appear here.
var hostSettings = [
  {
    name: 'AzureWebJobsStorage__accountName'
    value: hostStorageName
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identityClientId
  }
  {
    name: 'AzureWebJobsStorage__queueServiceUri'
    value: hostQueueServiceUri
  }
  {
    name: 'AZURE_CLIENT_ID'
    value: identityClientId
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: applicationInsightsConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${identityClientId};Authorization=AAD'
  }
]

// The archiver's own settings (archiver/settings.py).
var archiverSettings = [
  {
    name: 'ARCHIVE_STORAGE_ACCOUNT_URL'
    value: archiveStorageAccountUrl
  }
  {
    name: 'ARCHIVE_CONTAINER'
    value: archiveContainerName
  }
  {
    name: 'ALLOWED_SOURCE_HOSTS'
    value: allowedSourceHosts
  }
  {
    name: 'ALLOWED_ACS_RESOURCE_IDS'
    value: allowedAcsResourceIds
  }
  {
    name: 'SOURCE_RETENTION_HOURS'
    value: string(sourceRetentionHours)
  }
  {
    name: 'AT_RISK_MARGIN_MINUTES'
    value: string(atRiskMarginMinutes)
  }
  {
    name: 'DELETE_SOURCE_AFTER_ARCHIVE'
    value: deleteSourceAfterArchive ? 'true' : 'false'
  }
  {
    name: 'LOG_ANALYTICS_WORKSPACE_ID'
    value: logAnalyticsWorkspaceId
  }
  {
    name: 'ARCHIVE_RETENTION_DAYS'
    value: archiveRetentionDays
  }
]

// Default: the app downloads recordings with its managed identity.
var identityAuthSettings = [
  {
    name: 'ACS_ENDPOINT'
    value: acsEndpoint
  }
]

// Key mode: the connection string stays in Key Vault; the platform resolves the reference
// with the app's identity (keyVaultReferenceIdentity) and the value never enters ARM.
var keyAuthSettings = [
  {
    name: 'ACS_CONNECTION_STRING'
    value: '@Microsoft.KeyVault(SecretUri=${acsConnectionStringSecretUri})'
  }
]

// No publishing with user names and passwords: azd and the CLI deploy with Entra ID. Flex
// Consumption keeps an SCM (deployment) endpoint, so its basic-auth policy applies; it has no
// FTP endpoint, so there is no 'ftp' policy to set.
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output id string = functionApp.id
output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
output planId string = plan.id
