export { Cluster, joinCluster, describeCluster, clusterTopics, type ClusterOptions, type ClusterFullSyncOptions, type ClusterAssignment, type ClusterStatusRecord, type ClusterTaskRecord, type ClusterWorker } from './cluster.js';
export { assignTasks, type AssignMember, type AssignTask, type TaskAssignment } from './assign.js';
export { kafkaConnectionOf } from './connection.js';
