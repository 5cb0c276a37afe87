// Phase 2: the Event Grid subscription from the ACS system topic to the ingress function.
// It can only be created once the code is deployed (Event Grid checks that the function
// exists), so it is deployed after `azd deploy` by infra/hooks/postdeploy.sh, or by main.bicep
// when deployEventSubscription is true. Deploy it into the system topic's resource group.

@description('Name of the Event Grid system topic on the ACS resource.')
param systemTopicName string

@description('Resource id of the Function App.')
param functionAppId string

@description('Resource id of the archive storage account (holds the dead-letter container).')
param archiveStorageAccountId string

@description('Blob container that undeliverable events are dead-lettered to.')
param deadLetterContainerName string = 'eventgrid-deadletter'

@description('Hours ACS keeps a recording (SOURCE_RETENTION_HOURS): Event Grid retries for as long, up to its 24 h maximum.')
@minValue(1)
param sourceRetentionHours int = 24

param subscriptionName string = 'archiver-recording-file-status'

// The Event Grid-triggered function in function_app.py.
var functionName = 'ingest_recording_event'

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource recordingSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: systemTopic
  name: subscriptionName
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionAppId}/functions/${functionName}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.Communication.RecordingFileStatusUpdated'
      ]
    }
    // The Python EventGridEvent converter maps only Event Grid schema keys.
    eventDeliverySchema: 'EventGridSchema'
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: min(sourceRetentionHours * 60, 1440)
    }
    // Events Event Grid gives up on are kept, written by the topic's own identity.
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: archiveStorageAccountId
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output EVENT_SUBSCRIPTION_ID string = recordingSubscription.id
