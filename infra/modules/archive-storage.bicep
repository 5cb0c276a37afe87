// Long-term archive for call recordings. GRS-family replication (the Archive tier is not
// offered on ZRS/GZRS accounts), identity-only access, versioning and soft delete, a
// lifecycle policy that moves media to cheaper tiers and clears abandoned staging copies,
// optional WORM (container-level or version-level immutability) on the archive and audit
// containers, optional private network mode, and a CanNotDelete lock against teardown.

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

@description('WORM on the archive container: none, container (container-level time-based retention) or version (version-level immutability with a default retention; per-blob legal holds).')
@allowed([
  'none'
  'container'
  'version'
])
param immutability string = 'none'

@description('Retention, in days, of the immutability policies on the archive and audit containers (not used with immutability=none).')
@minValue(1)
@maxValue(146000)
param immutabilityRetentionDays int = 365

@description('The policies are (to be) locked: the template stops writing them, because Azure refuses to update a locked policy; the postdeploy hook locks them.')
param immutabilityLocked bool = false

@description('Private network mode: public network access disabled; the app uses the blob private endpoint, Event Grid dead-letters as a trusted service.')
param networkIsolation bool = false

@description('Private network mode: resource id of the Event Grid system topic whose managed identity dead-letters into this account.')
param eventGridTopicId string = ''

@description('Put a CanNotDelete lock on the account, so that deleting it (or its resource group, as azd down does) fails until someone removes the lock on purpose.')
param deleteLock bool = true

// Fixed by archiver/settings.py (INDEX_CONTAINER, REJECTED_CONTAINER, FAILURES_CONTAINER,
// STAGING_CONTAINER, AUDIT_CONTAINER, HOLDS_CONTAINER).
var indexContainerName = 'participant-index'
var rejectedContainerName = 'rejected-events'
var failuresContainerName = 'failed-jobs'
var stagingContainerName = 'archive-staging'
var auditContainerName = 'audit'
var holdsContainerName = 'legal-holds'

// Staging blobs are in-progress copies: a copy that has not touched its blob for this long was
// abandoned (a finished copy deletes its staging blob). Deleting it costs a re-download at most.
var stagingRetentionDays = 7

var worm = immutability != 'none'
var versionWorm = immutability == 'version'
// Azure updates only unlocked policies (a locked one can only be extended): once locked, the
// template leaves the policies alone.
var writeRetentionPolicies = worm && !immutabilityLocked

var lockName = 'archive-do-not-delete'

// The account itself: private variant in private network mode, public one otherwise (see
// storage-account-private.bicep for why there are two). In private mode Event Grid still has to
// write dead-lettered events here: it does so as a trusted Azure service with the system
// topic's own managed identity (trusted-service bypass) and only that topic is named in a
// resource instance rule. Access still needs the topic's role on the dead-letter container.
var encryptionServices = {
  blob: {
    enabled: true
    keyType: 'Account'
  }
}
var eventGridAccessRule = {
  tenantId: tenant().tenantId
  resourceId: eventGridTopicId
}

module privateAccount 'storage-account-private.bicep' = if (networkIsolation) {
  name: 'archive-account-private'
  params: {
    name: name
    location: location
    tags: tags
    skuName: skuName
    encryptionServices: encryptionServices
    bypass: 'AzureServices'
    resourceAccessRules: empty(eventGridTopicId) ? [] : [eventGridAccessRule]
  }
}

module publicAccount 'storage-account-public.bicep' = if (!networkIsolation) {
  name: 'archive-account-public'
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
  dependsOn: [
    privateAccount
    publicAccount
  ]
}

// Version-level immutability can only be switched on when a container is created (an existing
// container has to be migrated, see README.md#deploy) and never off; outside version mode the
// property is left out, so a redeployment never asks Azure to change it.
var versionLevelImmutability = {
  enabled: true
}

resource archiveContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: archiveContainerName
  properties: {
    publicAccess: 'None'
    immutableStorageWithVersioning: versionWorm ? versionLevelImmutability : null
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

// In-progress copies (checkpoints, re-committed block lists, leases): never immutable. The app
// copies the finished staging blob into the archive container server-side (Put Block From URL
// with its own bearer token), so its identity reads here and writes there.
resource stagingContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: stagingContainerName
  properties: {
    publicAccess: 'None'
  }
}

// One audit record per blob, each created once: with immutability on, a time-based retention
// policy makes the container append-only (new records can be added; none can be changed or
// deleted until its retention ends).
resource auditContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: auditContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Which case holds which archived object; records are removed when a case is released, so this
// container is never immutable (the audit container keeps the history).
resource holdsContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: holdsContainerName
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

// WORM on the archive container. container: a time-based retention policy on the container;
// version: the same resource is the container's default version-level policy, applied to every
// new blob version. Created unlocked (it can still be shortened or removed); locking is the
// separate, irreversible immutabilityLocked step (README.md#deploy).
resource archiveRetention 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (writeRetentionPolicies) {
  parent: archiveContainer
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: immutabilityRetentionDays
    allowProtectedAppendWrites: false
  }
}

// The audit trail is kept at least as long as the recordings it is about.
resource auditRetention 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (writeRetentionPolicies) {
  parent: auditContainer
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: immutabilityRetentionDays
    allowProtectedAppendWrites: false
  }
}

// Lifecycle. Only blobs under the archive container are tiered (media, metadata and
// manifests; the small JSON files cost next to nothing in any tier). Each step is left out
// when its age is 0. Azure requires the ages to increase: Cool < Cold < Archive < delete.
// Tiering is allowed under WORM; a deletion is refused while a blob is retained or held.
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
// Abandoned staging copies, and the versions their re-commits left behind.
var stagingRule = {
  enabled: true
  name: 'delete-stale-staging'
  type: 'Lifecycle'
  definition: {
    filters: {
      blobTypes: [
        'blockBlob'
      ]
      prefixMatch: [
        '${stagingContainerName}/'
      ]
    }
    actions: {
      baseBlob: {
        delete: {
          daysAfterModificationGreaterThan: stagingRetentionDays
        }
      }
      version: {
        delete: {
          daysAfterCreationGreaterThan: stagingRetentionDays
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
      rules: concat(hasRecordingActions ? [recordingRule] : [], [previousVersionRule, stagingRule])
    }
  }
  dependsOn: [
    privateAccount
    publicAccount
  ]
}

// Teardown protection: `azd down` deletes the resource group, and Azure refuses to delete a
// group that holds a locked resource, so the recordings survive until someone removes this
// lock on purpose (README.md#remove-it).
resource deleteProtection 'Microsoft.Authorization/locks@2020-05-01' = if (deleteLock) {
  name: lockName
  scope: storage
  properties: {
    level: 'CanNotDelete'
    notes: 'Call recording archive: remove this lock deliberately before deleting the account or its resource group (see the archiver README, Remove it).'
  }
  dependsOn: [
    privateAccount
    publicAccount
  ]
}

output id string = storage.id
output name string = storage.name
output blobServiceUrl string = 'https://${storage.name}.blob.${environment().suffixes.storage}'
output archiveContainerName string = archiveContainer.name
output deadLetterContainerName string = deadLetterContainer.name
output indexContainerName string = indexContainer.name
output rejectedContainerName string = rejectedContainer.name
output failuresContainerName string = failuresContainer.name
output stagingContainerName string = stagingContainer.name
output auditContainerName string = auditContainer.name
output holdsContainerName string = holdsContainer.name
output deleteLockName string = deleteLock ? lockName : ''
