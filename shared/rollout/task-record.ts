/**
 * What one task did, for audit: published as a file of the `ev2-records` pipeline artifact
 * (one file per task run, so jobs never overwrite each other) and as a markdown summary on
 * the run's Extensions tab. EV2 stays the source of truth; this is the evidence.
 */
export interface TaskRecord {
  schemaVersion: 1;
  task: string;
  startedAt: string;
  endedAt: string;
  result: string;
  message?: string;
  run: RunIdentity;
  rolloutId?: string;
  details: Record<string, unknown>;
}

export interface RunIdentity {
  collectionId?: string;
  collectionUri?: string;
  projectId?: string;
  project?: string;
  buildId?: string;
  releaseId?: string;
  releaseEnvironmentId?: string;
  releaseDeploymentId?: string;
  stageName?: string;
  jobName?: string;
  attempt?: string;
  requestedFor?: string;
  runUrl?: string;
  repositoryId?: string;
  sourceVersion?: string;
}
