// The operators' dashboard: an Azure Monitor workbook on the Application Insights resource.
// It charts what the archiver did from its own metrics (customMetrics archiver.*) and log
// markers (traces ARCHIVER_*), and Event Grid's dead-letter metrics on the system topic. The
// workbook's content is workbook.json (readable, and checked by tests/infra/test_infra_workbook.py:
// every query names only tables, metrics and markers that exist); the two resource ids are
// filled in here.

param location string
param tags object

@description('Resource id of the Application Insights resource the workbook reads and is attached to.')
param applicationInsightsId string

@description('Resource id of the Event Grid system topic (its dead-lettered and dropped event metrics).')
param systemTopicId string

@description('Name shown in the portal.')
param displayName string = 'Call recording archive'

var template = loadTextContent('workbook.json')
var withInsights = replace(template, '__APPLICATION_INSIGHTS_ID__', applicationInsightsId)
var content = replace(withInsights, '__SYSTEM_TOPIC_ID__', systemTopicId)

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, applicationInsightsId, 'archiver-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: toLower(applicationInsightsId)
    serializedData: content
  }
}

output id string = workbook.id
output name string = workbook.name
