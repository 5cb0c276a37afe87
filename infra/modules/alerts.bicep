// Alert rules. The archiver writes fixed markers into its log messages; each marker gets a
// log alert on the Application Insights traces in the workspace (table AppTraces). Event
// Grid's own losses (dead-lettered or dropped events) get metric alerts on the system topic.

param namePrefix string
param location string
param tags object
param logAnalyticsId string
param systemTopicId string

@description('Action group to notify. Empty: alerts fire in the portal only.')
param actionGroupId string = ''

var logAlertActionGroups = empty(actionGroupId) ? [] : [actionGroupId]
var metricAlertAction = {
  actionGroupId: actionGroupId
}
var metricAlertActions = empty(actionGroupId) ? [] : [metricAlertAction]

// Severity 1 for lost, refused or blocked recordings, 2 for a recording at risk (still
// recoverable). Markers are fixed by archiver/logs.py.
var logAlerts = [
  {
    key: 'rejected'
    marker: 'ARCHIVER_REJECTED'
    also: ''
    severity: 1
    title: 'Recording event rejected'
    text: 'The archiver rejected a recording event (kept in the rejected-events container with the reason).'
  }
  {
    key: 'failed'
    marker: 'ARCHIVER_FAILED'
    also: ''
    severity: 1
    title: 'Recording archive failed'
    text: 'A recording job failed permanently (kept in the failed-jobs container); the recording may be lost.'
  }
  {
    key: 'at-risk'
    marker: 'ARCHIVER_AT_RISK'
    also: ''
    severity: 2
    title: 'Recording at risk of missing its deadline'
    text: 'A recording job is close to the end of the ACS retention window and is not archived yet.'
  }
  {
    key: 'missing'
    marker: 'ARCHIVER_MISSING'
    also: ''
    severity: 1
    title: 'Recording ACS made is not archived'
    text: 'Reconciliation with ACS call recording summary logs found a recording the archive lacks (its event never arrived, or was rejected or failed); archive it while ACS still holds it.'
  }
  {
    key: 'integrity'
    marker: 'ARCHIVER_INTEGRITY'
    also: ' and Message has "intact=false"'
    severity: 1
    title: 'Archive integrity check found problems'
    text: 'The fixity check found a missing, changed or incomplete archived object; run python -m archiver verify --deep for the list.'
  }
  {
    key: 'config'
    marker: 'ARCHIVER_CONFIG'
    also: ''
    severity: 1
    title: 'Archiver configuration or permission error'
    text: 'The archiver was refused by ACS or storage (credentials, role assignments or settings); jobs wait and retry until it is fixed or the window closes.'
  }
]

resource logAlertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for alert in logAlerts: {
  name: '${namePrefix}${alert.key}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: alert.title
    description: alert.text
    severity: alert.severity
    enabled: true
    scopes: [
      logAnalyticsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      allOf: [
        {
          query: 'AppTraces | where Message has "${alert.marker}"${alert.also}'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: false
    // AppTraces exists only once the first trace arrives; do not fail a fresh deployment on it.
    skipQueryValidation: true
    actions: {
      actionGroups: logAlertActionGroups
    }
  }
}]

// Metric alerts on the Event Grid system topic: any event that Event Grid dead-lettered
// (it gave up delivering) or dropped (it gave up and could not dead-letter).
var topicMetrics = [
  {
    key: 'deadlettered'
    metric: 'DeadLetteredCount'
    title: 'Event Grid dead-lettered recording events'
  }
  {
    key: 'dropped'
    metric: 'DroppedEventCount'
    title: 'Event Grid dropped recording events'
  }
]

resource topicAlertRules 'Microsoft.Insights/metricAlerts@2018-03-01' = [for alert in topicMetrics: {
  name: '${namePrefix}${alert.key}'
  location: 'global'
  tags: tags
  properties: {
    description: alert.title
    severity: 1
    enabled: true
    scopes: [
      systemTopicId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: false
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: alert.metric
          metricNamespace: 'Microsoft.EventGrid/systemTopics'
          metricName: alert.metric
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Total'
        }
      ]
    }
    actions: metricAlertActions
  }
}]
