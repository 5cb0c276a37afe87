// Deployed into the resource group of the EXISTING Azure Communication Services resource.
// Reads its id and endpoint, and, when the app downloads recordings with its managed
// identity (the default), grants that identity a role on this one ACS resource.

param acsName string

@description('Principal (object) id of the app identity; empty in key mode (no role needed).')
param appPrincipalId string = ''

@description('Role granted to the app identity on the ACS resource (identity mode only).')
@allowed([
  'Communication and Email Service Owner'
  'Contributor'
])
param acsRoleName string = 'Communication and Email Service Owner'

@description('Log Analytics workspace (resource id) that receives ACS call recording summary logs; empty: none.')
param logAnalyticsWorkspaceId string = ''

// ACS publishes no data-plane role for Call Automation or recording downloads: an Entra ID
// caller is authorised through the Microsoft.Communication/CommunicationServices actions it
// holds on the resource, and Microsoft's Entra ID quickstart for ACS grants Contributor.
// "Communication and Email Service Owner" is the narrowest built-in role carrying those
// actions (Microsoft.Communication only); Contributor would also let the identity change
// any other setting on the resource, such as its diagnostic settings or event subscriptions.
// Contributor stays selectable for tenants where the narrower role is not accepted.
var acsRoleIds = {
  'Communication and Email Service Owner': '09976791-48a7-449e-bb21-39d1a415f350'
  Contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c'
}
var acsRoleId = acsRoleIds[acsRoleName]

resource acs 'Microsoft.Communication/communicationServices@2023-04-01' existing = {
  name: acsName
}

// Recording downloads with the managed identity (token for https://communication.azure.com).
resource appAcsRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(appPrincipalId)) {
  name: guid(acs.id, appPrincipalId, acsRoleId)
  scope: acs
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acsRoleId)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// ACS's own record of every recording it made (table ACSCallRecordingSummary): the archiver's
// hourly reconciliation compares it with the archive, so a recording whose event never
// arrived (subscription broken, filter wrong) is found while ACS still holds it.
resource recordingSummaryLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(logAnalyticsWorkspaceId)) {
  name: 'archiver-call-recording-summary'
  scope: acs
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'CallRecordingSummary'
        enabled: true
      }
    ]
  }
}

output id string = acs.id
output endpoint string = 'https://${acs.properties.hostName}'
