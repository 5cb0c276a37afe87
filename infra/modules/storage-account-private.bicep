// One storage account that only private networks reach (private network mode,
// networkIsolation = true): public network access disabled, the firewall's default action
// Deny, no IP or subnet rules. The app reaches it through private endpoints (network.bicep,
// private-endpoint.bicep). Identity-only access as in public mode: no shared keys, no
// anonymous access, TLS 1.2, HTTPS only.
//
// Its public twin is storage-account-public.bicep. They are two files, each declaring the
// account once, because checkov judges literals: here CKV_AZURE_35/59 pass, and only the
// public twin carries their skips. archive-storage.bicep and host-storage.bicep deploy exactly
// one of the two and declare everything else on the account once.

param name string
param location string
param tags object

@description('Replication. Each caller restricts it (@allowed): GRS family for the archive, ZRS by default for the host.')
param skuName string

@description('Which services encrypt with an account-scoped key (fixed at account creation, so each caller keeps what it always had).')
param encryptionServices object

@description('AzureServices: trusted Azure services and the resource instances below may still reach the public endpoint with their own identity (Event Grid dead-lettering into the archive). None: private endpoints only.')
@allowed([
  'AzureServices'
  'None'
])
param bypass string = 'None'

@description('Resource instance rules: {tenantId, resourceId} of each Azure resource whose managed identity may reach the account despite the firewall.')
param resourceAccessRules array = []

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  //checkov:skip=CKV_AZURE_36:The trusted-service bypass is the bypass parameter, None unless a caller needs it: the archive account passes AzureServices (Event Grid dead-letters with its system-assigned identity, named in a resource instance rule); the host account is used by nothing but the app, through private endpoints.
  //checkov:skip=CKV_AZURE_206:checkov does not resolve the skuName parameter; each caller restricts it with @allowed (archive: Standard_GRS or Standard_RAGRS, as the Archive tier needs; host: zone-redundant ZRS by default, the resilience a host account needs).
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
    publicNetworkAccess: 'Disabled'
    networkAcls: {
      defaultAction: 'Deny'
      bypass: bypass
      ipRules: []
      virtualNetworkRules: []
      resourceAccessRules: resourceAccessRules
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: encryptionServices
    }
  }
}

output id string = storage.id
