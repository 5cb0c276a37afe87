// Storage for the Functions host (AzureWebJobsStorage): the deployment package container,
// host locks and timer state, and the job queue `recording-jobs` with its poison queue.
// Identity access only: shared keys are disabled, so no connection string exists anywhere.

param name string
param location string
param tags object

@description('Blob container that Flex Consumption deploys the app package to.')
param deploymentContainerName string

@description('Replication. ZRS keeps queued jobs through a zone outage; use LRS where ZRS is not offered.')
@allowed([
  'Standard_ZRS'
  'Standard_LRS'
  'Standard_GZRS'
  'Standard_GRS'
])
param skuName string = 'Standard_ZRS'

// Fixed by archiver/settings.py (JOBS_QUEUE, POISON_QUEUE).
var jobsQueueName = 'recording-jobs'
var poisonQueueName = 'recording-jobs-poison'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  //checkov:skip=CKV_AZURE_35:No VNet in this template: the Flex Consumption app reaches its host storage over the public endpoint, and Function Apps are not trusted services for the firewall bypass. Every request needs Entra ID (shared keys off, no public blob access).
  //checkov:skip=CKV_AZURE_59:Same reason as CKV_AZURE_35: the public endpoint must stay reachable for the app; anonymous and key access are both disabled.
  //checkov:skip=CKV_AZURE_206:Host storage holds only the app package, host locks and in-flight queue messages; zone-redundant (ZRS, the default) is the resilience it needs, geo-replication is not.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    isLocalUserEnabled: false
    isSftpEnabled: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
          keyType: 'Account'
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource jobsQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: jobsQueueName
}

resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: poisonQueueName
}

output id string = storage.id
output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueServiceUri string = 'https://${storage.name}.queue.${environment().suffixes.storage}'
output jobsQueueName string = jobsQueue.name
output poisonQueueName string = poisonQueue.name
