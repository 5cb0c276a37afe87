// The Event Grid system topic on the EXISTING ACS resource, deployed into the resource
// group that holds (or will hold) the topic. Only one system topic may exist per source,
// so an existing one can be reused instead of created. The topic's system-assigned identity
// writes dead-lettered events to blob storage (see deadletter-rbac.bicep).

param name string
param tags object

@description('Resource id of the ACS resource (the topic source).')
param acsId string

@description('Reuse an existing system topic of that name instead of creating one. It must have a system-assigned identity.')
param useExisting bool = false

resource newTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = if (!useExisting) {
  name: name
  // ACS is a global resource, so its system topic is global too.
  location: 'global'
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: acsId
    topicType: 'Microsoft.Communication.CommunicationServices'
  }
}

resource existingTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = if (useExisting) {
  name: name
}

// Exactly one of the two topics exists; `!` tells Bicep which one is read in each branch, and
// ARM evaluates only the branch the condition picks.
output id string = useExisting ? existingTopic!.id : newTopic!.id
output name string = name
output principalId string = useExisting ? existingTopic!.identity.principalId : newTopic!.identity.principalId
