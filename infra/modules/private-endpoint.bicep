// Private network mode only: one private endpoint for one sub-resource (blob, queue, vault) of
// a storage account or Key Vault, in the private-endpoints subnet, with the DNS zone group that
// writes its A record into the matching private DNS zone (network.bicep).

param name string
param location string
param tags object

@description('Resource id of the private-endpoints subnet.')
param subnetId string

@description('Resource id of the storage account or Key Vault the endpoint connects to.')
param targetId string

@description('Sub-resource: blob, queue (storage) or vault (Key Vault).')
@allowed([
  'blob'
  'queue'
  'vault'
])
param groupId string

@description('Resource id of the private DNS zone for that sub-resource.')
param privateDnsZoneId string

resource endpoint 'Microsoft.Network/privateEndpoints@2023-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: name
        properties: {
          privateLinkServiceId: targetId
          groupIds: [
            groupId
          ]
        }
      }
    ]
  }
}

resource zoneGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2023-11-01' = {
  parent: endpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: groupId
        properties: {
          privateDnsZoneId: privateDnsZoneId
        }
      }
    ]
  }
}

output id string = endpoint.id
