// The one user-assigned identity the Function App runs as. Every role assignment the app
// needs is granted to this identity (see app-rbac.bicep, acs.bicep, keyvault-access.bicep),
// so the app never holds a key.

param name string
param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
