// Long-term archive for call recordings. GRS-family replication (the Archive tier is not
// offered on ZRS/GZRS accounts), identity-only access, versioning and soft delete, a
// lifecycle policy that moves media to cheaper tiers, and an optional WORM policy.

param name string
param location string
param tags object

@description('Replication. GRS-family only: the Archive tier is not available on ZRS/GZRS.')
@allowed([
  'Standard_GRS'
  'Standard_RAGRS'
])
param skuName string = 'Standard_GRS'

@description('Container for media, metadata and manifests (ARCHIVE_CONTAINER).')
param archiveContainerName string = 'recordings'

@description('Container that Event Grid dead-letters undeliverable events to.')
param deadLetterContainerName string = 'eventgrid-deadletter'

@description('Days a deleted blob or container stays recoverable (soft delete).')
@minValue(1)
@maxValue(365)
param softDeleteRetentionDays int = 14

@description('Move archived recordings to Cool this many days after they were written (0 = never).')
@minValue(0)
param coolAfterDays int = 30

@description('Move archived recordings to Cold this many days after they were written (0 = never).')
@minValue(0)
param coldAfterDays int = 90

@description('Move archived recordings to Archive this many days after they were written (0 = never).')
@minValue(0)
param archiveAfterDays int = 180

@description('Delete archived recordings this many days after they were written (0 = keep forever).')
@minValue(0)
param deleteAfterDays int = 0

@description('Delete previous blob versions this many days after they were superseded or deleted, so an erased recording does not linger as a version.')
@minValue(1)
param previousVersionRetentionDays int = 30

@description('Time-based WORM retention on the archive container, in days (0 = no policy). Created unlocked.')
@minValue(0)
@maxValue(146000)
param immutabilityPeriodDays int = 0

// Fixed by archiver/settings.py (INDEX_CONTAINER, REJECTED_CONTAINER, FAILURES_CONTAINER).
var indexContainerName = 'participant-index'
var rejectedContainerName = 'rejected-events'
var failuresContainerName = 'failed-jobs'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  //checkov:skip=CKV_AZURE_35:No VNet in this template: the Flex Consumption app and Event Grid dead-lettering reach the account over its public endpoint, and Function Apps are not trusted services for the firewall bypass. Every request needs Entra ID (shared keys off, no public blob access).
  //checkov:skip=CKV_AZURE_59:Same reason as CKV_AZURE_35: the public endpoint must stay reachable for the app; anonymous and key access are both disabled.
  //checkov:skip=CKV_AZURE_206:False positive: checkov does not resolve the skuName parameter, whose @allowed values are GRS-family only (Standard_GRS, Standard_RAGRS).
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
    isHnsEnabled: false
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
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    isVersioningEnabled: true
    deleteRetentionPolicy: {
      enabled: true
      days: softDeleteRetentionDays
      allowPermanentDelete: false
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: softDeleteRetentionDays
    }
  }
}

resource archiveContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: archiveContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource indexContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: indexContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource rejectedContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: rejectedContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource failuresContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: failuresContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

// WORM: a time-based retention policy on the archive container, unlocked so that it can
// still be shortened or removed. Lock it yourself once you are sure (locking is permanent).
resource archiveImmutability 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (immutabilityPeriodDays > 0) {
  parent: archiveContainer
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: immutabilityPeriodDays
    allowProtectedAppendWrites: false
  }
}

// Lifecycle. Only blobs under the archive container are tiered (media, metadata and
// manifests; the small JSON files cost next to nothing in any tier). Each step is left out
// when its age is 0. Azure requires the ages to increase: Cool < Cold < Archive < delete.
var tierToCool = {
  tierToCool: {
    daysAfterModificationGreaterThan: coolAfterDays
  }
}
var tierToCold = {
  tierToCold: {
    daysAfterModificationGreaterThan: coldAfterDays
  }
}
var tierToArchive = {
  tierToArchive: {
    daysAfterModificationGreaterThan: archiveAfterDays
  }
}
var deleteBase = {
  delete: {
    daysAfterModificationGreaterThan: deleteAfterDays
  }
}
var recordingActions = union((coolAfterDays > 0) ? tierToCool : {}, (coldAfterDays > 0) ? tierToCold : {}, (archiveAfterDays > 0) ? tierToArchive : {}, (deleteAfterDays > 0) ? deleteBase : {})
var recordingRule = {
  enabled: true
  name: 'tier-archived-recordings'
  type: 'Lifecycle'
  definition: {
    filters: {
      blobTypes: [
        'blockBlob'
      ]
      prefixMatch: [
        '${archiveContainerName}/'
      ]
    }
    actions: {
      baseBlob: recordingActions
    }
  }
}
var previousVersionRule = {
  enabled: true
  name: 'expire-previous-versions'
  type: 'Lifecycle'
  definition: {
    filters: {
      blobTypes: [
        'blockBlob'
      ]
    }
    actions: {
      version: {
        delete: {
          daysAfterCreationGreaterThan: previousVersionRetentionDays
        }
      }
    }
  }
}
var hasRecordingActions = (coolAfterDays > 0) || (coldAfterDays > 0) || (archiveAfterDays > 0) || (deleteAfterDays > 0)

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: concat(hasRecordingActions ? [recordingRule] : [], [previousVersionRule])
    }
  }
}

output id string = storage.id
output name string = storage.name
output blobServiceUrl string = 'https://${storage.name}.blob.${environment().suffixes.storage}'
output archiveContainerName string = archiveContainer.name
output deadLetterContainerName string = deadLetterContainer.name
output indexContainerName string = indexContainer.name
output rejectedContainerName string = rejectedContainer.name
output failuresContainerName string = failuresContainer.name
