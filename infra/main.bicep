// ACS call recording archiver: everything `azd up` (or `az deployment sub create`) builds.
// Phase 1 (this file, default flags): resource group, identity, storage, monitoring, the
// Function App, role assignments, the Event Grid system topic on the existing ACS resource
// and alerts; in private network mode also the virtual network, private endpoints and private
// DNS zones. Phase 2 (subscription.bicep): the event subscription to the deployed function,
// run by the azd postdeploy hook, or here when deployEventSubscription is true.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; seeds the unique suffix of every resource name.')
param environmentName string

@minLength(1)
@description('Region for all resources. Must offer Flex Consumption.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Resource group to create. Empty: rg-<environmentName>.')
param resourceGroupName string = ''

@description('Name of the EXISTING Azure Communication Services resource whose recordings are archived.')
param acsResourceName string

@description('Resource group of that ACS resource.')
param acsResourceGroupName string

@description('How the app authenticates to ACS: identity (managed identity, default) or key (connection string from Key Vault).')
@allowed([
  'identity'
  'key'
])
param acsAuthMode string = 'identity'

@description('Identity mode: role granted to the app identity on the ACS resource.')
@allowed([
  'Communication and Email Service Owner'
  'Contributor'
])
param acsRoleName string = 'Communication and Email Service Owner'

@description('Key mode: name of the EXISTING Key Vault (RBAC authorisation) holding the ACS connection string.')
param acsKeyVaultName string = ''

@description('Key mode: resource group of that Key Vault. Empty: the ACS resource group.')
param acsKeyVaultResourceGroupName string = ''

@description('Key mode: name of the secret holding the ACS connection string.')
param acsConnectionStringSecretName string = 'acs-connection-string'

@description('Name of the Event Grid system topic on the ACS resource. Empty: egst-<token>.')
param systemTopicName string = ''

@description('Reuse the existing system topic named systemTopicName (only one may exist per ACS resource). It needs a system-assigned identity.')
param useExistingSystemTopic bool = false

@description('Resource group of the system topic. Empty: the ACS resource group.')
param systemTopicResourceGroupName string = ''

@description('Also create the Event Grid subscription in this deployment. Only once the code is deployed (phase 2).')
param deployEventSubscription bool = false

@description('Name of the archive storage account. Empty: starc<token>.')
@maxLength(24)
param archiveStorageAccountName string = ''

@description('Archive storage replication (GRS-family: the Archive tier needs it).')
@allowed([
  'Standard_GRS'
  'Standard_RAGRS'
])
param archiveStorageSku string = 'Standard_GRS'

@description('Host storage replication (app package, job queue).')
@allowed([
  'Standard_ZRS'
  'Standard_LRS'
  'Standard_GZRS'
  'Standard_GRS'
])
param hostStorageSku string = 'Standard_ZRS'

@description('Container for recordings, metadata and manifests (ARCHIVE_CONTAINER).')
param archiveContainerName string = 'recordings'

@description('Days until archived recordings move to Cool (0 = never).')
@minValue(0)
param coolAfterDays int = 30

@description('Days until archived recordings move to Cold (0 = never).')
@minValue(0)
param coldAfterDays int = 90

@description('Days until archived recordings move to Archive (0 = never).')
@minValue(0)
param archiveAfterDays int = 180

@description('Days until archived recordings are deleted (0 = keep forever).')
@minValue(0)
param deleteAfterDays int = 0

@description('Days previous blob versions are kept before lifecycle deletes them.')
@minValue(1)
param previousVersionRetentionDays int = 30

@description('Soft-delete retention for blobs and containers, in days.')
@minValue(1)
@maxValue(365)
param softDeleteRetentionDays int = 14

@description('WORM on the archive container: none, container (container-level time-based retention) or version (version-level immutability, per-blob legal holds). The audit container gets the same retention.')
@allowed([
  'none'
  'container'
  'version'
])
param immutability string = 'none'

@description('Retention of the immutability policies, in days (immutability container or version).')
@minValue(1)
@maxValue(146000)
param immutabilityRetentionDays int = 365

@description('Lock the immutability policies (irreversible; done by the postdeploy hook, after which the template no longer writes them).')
param immutabilityLocked bool = false

@description('Put a CanNotDelete lock on the archive storage account so that azd down cannot delete the recordings.')
param archiveDeleteLock bool = true

@description('Private network mode: VNet integration, private endpoints and private DNS zones; storage (and Key Vault in key mode) not reachable from public networks.')
param networkIsolation bool = false

@description('Private network mode: address space of the virtual network.')
param vnetAddressPrefix string = '10.90.0.0/24'

@description('Private network mode: subnet delegated to the Flex Consumption app (/27 or larger).')
param appSubnetPrefix string = '10.90.0.0/27'

@description('Private network mode: subnet for the private endpoints.')
param privateEndpointSubnetPrefix string = '10.90.0.32/27'

@description('Hours ACS keeps a recording (SOURCE_RETENTION_HOURS); also sizes Event Grid retries.')
@minValue(1)
@maxValue(720)
param sourceRetentionHours int = 24

@description('Alert when a job has less than this many minutes left before its deadline (AT_RISK_MARGIN_MINUTES).')
@minValue(0)
param atRiskMarginMinutes int = 120

@description('Delete the ACS copy after a verified archive (DELETE_SOURCE_AFTER_ARCHIVE).')
param deleteSourceAfterArchive bool = false

@description('Extra hosts, comma-separated, the app may download recordings from (ALLOWED_SOURCE_HOSTS).')
param allowedSourceHosts string = ''

@description('Memory of each Function App instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Spread Function App instances across availability zones (only where Flex Consumption offers it; needs ZRS host storage).')
param zoneRedundant bool = false

@description('Maximum number of Function App instances.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('E-mail address for alerts. Empty: alerts show in the portal only.')
param alertEmail string = ''

@description('Days Log Analytics keeps logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

// The app is told the container policy's length (the data plane does not expose it).
var containerRetention = immutability == 'container'
var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var useKeyAuth = acsAuthMode == 'key'
var functionAppName = '${abbrs.webSitesFunctions}archiver-${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'
var deadLetterContainerName = 'eventgrid-deadletter'
var topicName = empty(systemTopicName) ? '${abbrs.eventGridSystemTopics}${resourceToken}' : systemTopicName
var topicResourceGroupName = empty(systemTopicResourceGroupName) ? acsResourceGroupName : systemTopicResourceGroupName
var keyVaultResourceGroupName = empty(acsKeyVaultResourceGroupName) ? acsResourceGroupName : acsKeyVaultResourceGroupName

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: empty(resourceGroupName) ? '${abbrs.resourcesResourceGroups}${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}archiver-${resourceToken}'
    location: location
    tags: tags
  }
}

module hostStorage 'modules/host-storage.bicep' = {
  name: 'host-storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    skuName: hostStorageSku
    deploymentContainerName: deploymentContainerName
    networkIsolation: networkIsolation
  }
}

// Private network mode: the virtual network, its subnets and the private DNS zones.
module network 'modules/network.bicep' = if (networkIsolation) {
  name: 'network'
  scope: rg
  params: {
    vnetName: '${abbrs.networkVirtualNetworks}${resourceToken}'
    nsgName: '${abbrs.networkNetworkSecurityGroups}${resourceToken}'
    location: location
    tags: tags
    addressPrefix: vnetAddressPrefix
    appSubnetPrefix: appSubnetPrefix
    privateEndpointSubnetPrefix: privateEndpointSubnetPrefix
    withVaultZone: useKeyAuth
  }
}

module archiveStorage 'modules/archive-storage.bicep' = {
  name: 'archive-storage'
  scope: rg
  params: {
    name: empty(archiveStorageAccountName) ? '${abbrs.storageStorageAccounts}arc${resourceToken}' : archiveStorageAccountName
    location: location
    tags: tags
    skuName: archiveStorageSku
    archiveContainerName: archiveContainerName
    deadLetterContainerName: deadLetterContainerName
    softDeleteRetentionDays: softDeleteRetentionDays
    coolAfterDays: coolAfterDays
    coldAfterDays: coldAfterDays
    archiveAfterDays: archiveAfterDays
    deleteAfterDays: deleteAfterDays
    previousVersionRetentionDays: previousVersionRetentionDays
    immutability: immutability
    immutabilityRetentionDays: immutabilityRetentionDays
    immutabilityLocked: immutabilityLocked
    networkIsolation: networkIsolation
    eventGridTopicId: systemTopic.outputs.id
    deleteLock: archiveDeleteLock
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    actionGroupName: '${abbrs.insightsActionGroups}archiver-${resourceToken}'
    location: location
    tags: tags
    retentionInDays: logRetentionDays
    alertEmail: alertEmail
  }
}

module acsAccess 'modules/acs-access.bicep' = {
  name: 'acs-access-${resourceToken}'
  scope: resourceGroup(acsResourceGroupName)
  params: {
    acsName: acsResourceName
    appPrincipalId: useKeyAuth ? '' : identity.outputs.principalId
    acsRoleName: acsRoleName
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsId
  }
}

module keyVaultAccess 'modules/keyvault-access.bicep' = if (useKeyAuth) {
  name: 'keyvault-access-${resourceToken}'
  scope: resourceGroup(keyVaultResourceGroupName)
  params: {
    keyVaultName: acsKeyVaultName
    secretName: acsConnectionStringSecretName
    appPrincipalId: identity.outputs.principalId
  }
}

// Private network mode: private endpoints (with their DNS records) for every store the app uses.
// A conditional module is read with `!`, always inside the same condition it is deployed under.
module archiveBlobEndpoint 'modules/private-endpoint.bicep' = if (networkIsolation) {
  name: 'endpoint-archive-blob'
  scope: rg
  params: {
    name: '${abbrs.networkPrivateEndpoints}${archiveStorage.outputs.name}-blob'
    location: location
    tags: tags
    subnetId: network!.outputs.privateEndpointSubnetId
    targetId: archiveStorage.outputs.id
    groupId: 'blob'
    privateDnsZoneId: network!.outputs.blobZoneId
  }
}

module hostBlobEndpoint 'modules/private-endpoint.bicep' = if (networkIsolation) {
  name: 'endpoint-host-blob'
  scope: rg
  params: {
    name: '${abbrs.networkPrivateEndpoints}${hostStorage.outputs.name}-blob'
    location: location
    tags: tags
    subnetId: network!.outputs.privateEndpointSubnetId
    targetId: hostStorage.outputs.id
    groupId: 'blob'
    privateDnsZoneId: network!.outputs.blobZoneId
  }
}

module hostQueueEndpoint 'modules/private-endpoint.bicep' = if (networkIsolation) {
  name: 'endpoint-host-queue'
  scope: rg
  params: {
    name: '${abbrs.networkPrivateEndpoints}${hostStorage.outputs.name}-queue'
    location: location
    tags: tags
    subnetId: network!.outputs.privateEndpointSubnetId
    targetId: hostStorage.outputs.id
    groupId: 'queue'
    privateDnsZoneId: network!.outputs.queueZoneId
  }
}

// Key mode: the EXISTING vault is yours; the deployment adds an endpoint to it and never changes
// the vault itself (disable its public network access yourself, README.md#deploy).
module keyVaultEndpoint 'modules/private-endpoint.bicep' = if (networkIsolation && useKeyAuth) {
  name: 'endpoint-key-vault'
  scope: rg
  params: {
    name: '${abbrs.networkPrivateEndpoints}${acsKeyVaultName}-vault'
    location: location
    tags: tags
    subnetId: network!.outputs.privateEndpointSubnetId
    targetId: keyVaultAccess!.outputs.vaultId
    groupId: 'vault'
    privateDnsZoneId: network!.outputs.vaultZoneId
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    hostStorageName: hostStorage.outputs.name
    hostStorageBlobEndpoint: hostStorage.outputs.blobEndpoint
    hostQueueServiceUri: hostStorage.outputs.queueServiceUri
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    zoneRedundant: zoneRedundant
    archiveStorageAccountUrl: archiveStorage.outputs.blobServiceUrl
    archiveContainerName: archiveStorage.outputs.archiveContainerName
    allowedSourceHosts: allowedSourceHosts
    allowedAcsResourceIds: acsAccess.outputs.id
    sourceRetentionHours: sourceRetentionHours
    atRiskMarginMinutes: atRiskMarginMinutes
    deleteSourceAfterArchive: deleteSourceAfterArchive
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsCustomerId
    archiveRetentionDays: containerRetention ? string(immutabilityRetentionDays) : ''
    acsEndpoint: acsAccess.outputs.endpoint
    acsConnectionStringSecretUri: useKeyAuth ? keyVaultAccess!.outputs.secretUri : ''
    virtualNetworkSubnetId: networkIsolation ? network!.outputs.appSubnetId : ''
  }
  // The app starts only once its stores resolve to their private endpoints.
  dependsOn: [
    archiveBlobEndpoint
    hostBlobEndpoint
    hostQueueEndpoint
    keyVaultEndpoint
  ]
}

module appRbac 'modules/app-rbac.bicep' = {
  name: 'app-rbac'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    hostStorageName: hostStorage.outputs.name
    archiveStorageName: archiveStorage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    logAnalyticsName: monitoring.outputs.logAnalyticsName
  }
}

module systemTopic 'modules/event-grid-topic.bicep' = {
  name: 'event-grid-topic-${resourceToken}'
  scope: resourceGroup(topicResourceGroupName)
  params: {
    name: topicName
    tags: tags
    acsId: acsAccess.outputs.id
    useExisting: useExistingSystemTopic
  }
}

module deadLetterRbac 'modules/deadletter-rbac.bicep' = {
  name: 'deadletter-rbac'
  scope: rg
  params: {
    archiveStorageName: archiveStorage.outputs.name
    deadLetterContainerName: archiveStorage.outputs.deadLetterContainerName
    topicPrincipalId: systemTopic.outputs.principalId
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    namePrefix: 'alert-archiver-${resourceToken}-'
    location: location
    tags: tags
    logAnalyticsId: monitoring.outputs.logAnalyticsId
    systemTopicId: systemTopic.outputs.id
    actionGroupId: monitoring.outputs.actionGroupId
  }
}

// The operators' dashboard on Application Insights (README.md#the-workbook).
module workbook 'modules/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: {
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    systemTopicId: systemTopic.outputs.id
  }
}

// Phase 2 in the same deployment, once the function exists (see README.md#deploy).
module eventSubscription 'subscription.bicep' = if (deployEventSubscription) {
  name: 'event-subscription-${resourceToken}'
  scope: resourceGroup(topicResourceGroupName)
  params: {
    systemTopicName: systemTopic.outputs.name
    functionAppId: functionApp.outputs.id
    archiveStorageAccountId: archiveStorage.outputs.id
    deadLetterContainerName: archiveStorage.outputs.deadLetterContainerName
    sourceRetentionHours: sourceRetentionHours
  }
  dependsOn: [
    deadLetterRbac
    appRbac
  ]
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_ID string = functionApp.outputs.id
output SERVICE_ARCHIVER_NAME string = functionApp.outputs.name
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output ARCHIVE_STORAGE_ACCOUNT_NAME string = archiveStorage.outputs.name
output ARCHIVE_STORAGE_ACCOUNT_ID string = archiveStorage.outputs.id
output ARCHIVE_STORAGE_ACCOUNT_URL string = archiveStorage.outputs.blobServiceUrl
output ARCHIVE_CONTAINER string = archiveStorage.outputs.archiveContainerName
output EVENT_GRID_DEADLETTER_CONTAINER string = archiveStorage.outputs.deadLetterContainerName
output ARCHIVE_AUDIT_CONTAINER string = archiveStorage.outputs.auditContainerName
output ARCHIVE_IMMUTABILITY string = immutability
output ARCHIVE_IMMUTABILITY_LOCKED bool = immutabilityLocked
output ARCHIVE_DELETE_LOCK_NAME string = archiveStorage.outputs.deleteLockName
output HOST_STORAGE_ACCOUNT_NAME string = hostStorage.outputs.name
output JOBS_QUEUE_NAME string = hostStorage.outputs.jobsQueueName
output EVENT_GRID_SYSTEM_TOPIC_NAME string = systemTopic.outputs.name
output EVENT_GRID_SYSTEM_TOPIC_RESOURCE_GROUP string = topicResourceGroupName
output SOURCE_RETENTION_HOURS int = sourceRetentionHours
output ACS_RESOURCE_ID string = acsAccess.outputs.id
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output LOG_ANALYTICS_WORKSPACE_NAME string = monitoring.outputs.logAnalyticsName
output AZURE_WORKBOOK_ID string = workbook.outputs.id
