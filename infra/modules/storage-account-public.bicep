// One storage account reached over its public endpoint (the default, networkIsolation =
// false): every request still needs Microsoft Entra ID (no shared keys, no anonymous access),
// TLS 1.2 and HTTPS. Its private twin, storage-account-private.bicep, explains why the account
// is declared in two files; the two bodies differ only in publicNetworkAccess and networkAcls
// (tests/infra checks that).

param name string
param location string
param tags object

@description('Replication. Each caller restricts it (@allowed): GRS family for the archive, ZRS by default for the host.')
param skuName string

@description('Which services encrypt with an account-scoped key (fixed at account creation, so each caller keeps what it always had).')
param encryptionServices object

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  //checkov:skip=CKV_AZURE_35:Public mode (networkIsolation=false) has no virtual network: the Flex Consumption app reaches the account over its public endpoint, and Function Apps are not trusted services for the firewall bypass. Every request needs Entra ID. Deploy with networkIsolation=true for the private variant.
  //checkov:skip=CKV_AZURE_59:Public mode only, same reason as CKV_AZURE_35: the endpoint must stay reachable for the app; anonymous and shared-key access are both disabled. networkIsolation=true disables public network access.
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
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: encryptionServices
    }
  }
}

output id string = storage.id
