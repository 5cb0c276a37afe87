// Storage for the Functions host (AzureWebJobsStorage): the deployment package container,
// host locks and timer state, and the job queue `recording-jobs` with its poison queue.
// Identity access only: shared keys are disabled, so no connection string exists anywhere.
// The runtime uses blob and queue here; it needs no table (the only table use, host diagnostic
// events, is optional and the app identity holds no table role), so private network mode gives
// the account blob and queue private endpoints only.

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

@description('Private network mode: public network access disabled; the app uses the blob and queue private endpoints.')
param networkIsolation bool = false

// Fixed by archiver/settings.py (JOBS_QUEUE, POISON_QUEUE).
var jobsQueueName = 'recording-jobs'
var poisonQueueName = 'recording-jobs-poison'

// The account itself: the private variant in private network mode (reached through the blob
// and queue private endpoints that main.bicep adds; no Azure service needs the public endpoint,
// so no trusted-service bypass), else the public one. See storage-account-private.bicep.
var encryptionServices = {
  blob: {
    enabled: true
    keyType: 'Account'
  }
  queue: {
    enabled: true
    keyType: 'Account'
  }
}

module privateAccount 'storage-account-private.bicep' = if (networkIsolation) {
  name: 'host-account-private'
  params: {
    name: name
    location: location
    tags: tags
    skuName: skuName
    encryptionServices: encryptionServices
    bypass: 'None'
  }
}

module publicAccount 'storage-account-public.bicep' = if (!networkIsolation) {
  name: 'host-account-public'
  params: {
    name: name
    location: location
    tags: tags
    skuName: skuName
    encryptionServices: encryptionServices
  }
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: name
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  dependsOn: [
    privateAccount
    publicAccount
  ]
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
  dependsOn: [
    privateAccount
    publicAccount
  ]
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
output blobEndpoint string = 'https://${storage.name}.blob.${environment().suffixes.storage}/'
output queueServiceUri string = 'https://${storage.name}.queue.${environment().suffixes.storage}'
output jobsQueueName string = jobsQueue.name
output poisonQueueName string = poisonQueue.name
