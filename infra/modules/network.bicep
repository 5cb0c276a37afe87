// Private network mode only (networkIsolation = true): the virtual network the Flex
// Consumption app is integrated with, the subnet that holds the private endpoints of the
// storage accounts (and, in key mode, the Key Vault), and the private DNS zones that make the
// usual host names (<account>.blob.core.windows.net, ...) resolve to those endpoints from
// inside the network. Nothing here is reachable from the internet.

param vnetName string
param nsgName string
param location string
param tags object

@description('Address space of the virtual network.')
param addressPrefix string

@description('Subnet delegated to the Flex Consumption app (outbound VNet integration). /27 or larger.')
param appSubnetPrefix string

@description('Subnet that holds the private endpoints.')
param privateEndpointSubnetPrefix string

@description('Also create the Key Vault private DNS zone (key mode).')
param withVaultZone bool = false

// Flex Consumption refuses subnet names with underscores.
var appSubnetName = 'app'
var privateEndpointSubnetName = 'private-endpoints'

// Private DNS zones of the private endpoints (Azure public cloud names; the suffixes come from
// environment() so that sovereign clouds get theirs). The Key Vault zone is the "vaultcore"
// twin of the vault DNS suffix (privatelink.vaultcore.azure.net).
var blobZoneName = 'privatelink.blob.${environment().suffixes.storage}'
var queueZoneName = 'privatelink.queue.${environment().suffixes.storage}'
var vaultZoneName = 'privatelink${replace(environment().suffixes.keyvaultDns, '.vault.', '.vaultcore.')}'

// No custom rules: the platform defaults (intra-VNet allowed, inbound from the internet
// denied). Many policies require an NSG on every subnet; this is it.
resource nsg 'Microsoft.Network/networkSecurityGroups@2023-11-01' = {
  name: nsgName
  location: location
  tags: tags
  properties: {
    securityRules: []
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2023-11-01' = {
  name: vnetName
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: appSubnetName
        properties: {
          addressPrefix: appSubnetPrefix
          networkSecurityGroup: {
            id: nsg.id
          }
          // Microsoft.App/environments is the delegation Flex Consumption VNet integration needs.
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
          privateEndpointNetworkPolicies: 'Disabled'
          privateLinkServiceNetworkPolicies: 'Enabled'
        }
      }
      {
        name: privateEndpointSubnetName
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          networkSecurityGroup: {
            id: nsg.id
          }
          privateEndpointNetworkPolicies: 'Enabled'
          privateLinkServiceNetworkPolicies: 'Enabled'
        }
      }
    ]
  }
}

resource blobZone 'Microsoft.Network/privateDnsZones@2020-06-01' = {
  name: blobZoneName
  location: 'global'
  tags: tags
}

resource queueZone 'Microsoft.Network/privateDnsZones@2020-06-01' = {
  name: queueZoneName
  location: 'global'
  tags: tags
}

resource vaultZone 'Microsoft.Network/privateDnsZones@2020-06-01' = if (withVaultZone) {
  name: vaultZoneName
  location: 'global'
  tags: tags
}

resource blobZoneLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = {
  parent: blobZone
  name: vnetName
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnet.id
    }
  }
}

resource queueZoneLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = {
  parent: queueZone
  name: vnetName
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnet.id
    }
  }
}

resource vaultZoneLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = if (withVaultZone) {
  parent: vaultZone
  name: vnetName
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnet.id
    }
  }
}

output vnetId string = vnet.id
output vnetName string = vnet.name
output appSubnetId string = '${vnet.id}/subnets/${appSubnetName}'
output privateEndpointSubnetId string = '${vnet.id}/subnets/${privateEndpointSubnetName}'
output blobZoneId string = blobZone.id
output queueZoneId string = queueZone.id
// The vault zone is conditional: its id is built, not read from the resource (no null access).
output vaultZoneId string = withVaultZone ? resourceId('Microsoft.Network/privateDnsZones', vaultZoneName) : ''
