// Key mode only: the ACS connection string is a secret in an EXISTING Key Vault (RBAC
// authorisation) in this resource group. The app identity may read that one secret.

param keyVaultName string
param secretName string

@description('Principal (object) id of the app identity.')
param appPrincipalId string

var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' existing = {
  parent: keyVault
  name: secretName
}

// Resolving the @Microsoft.KeyVault(...) app setting reads the secret as the app identity.
resource appSecretReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(secret.id, appPrincipalId, keyVaultSecretsUser)
  scope: secret
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Private network mode adds a private endpoint to this vault (main.bicep).
output vaultId string = keyVault.id

// Versionless, so a rotated secret is picked up without redeploying.
output secretUri string = '${keyVault.properties.vaultUri}secrets/${secretName}'
